-- Beyond accuracy, from history popularity: novelty and popularity_bias of each top-k list.
--
-- Popularity of item i in a fold and target: pop(i) = distinct users with at least one
-- target-type event on i before the cut-off (train_interactions, target_events > 0); U = distinct
-- such users. Over the items of a user's top-k list (evaluated users with recommendations only;
-- a user without recommendations has no list and is not counted):
--   novelty         = mean of the self-information -log2((pop(i) + 1) / (U + 1))  (bits; +1
--                     smoothing gives never-seen items the largest, finite value)
--   popularity_bias = mean popularity percentile: the share of history items (item_features of
--                     the fold) strictly less popular than i, (rank - 1) / (n - 1) from
--                     percent_rank(); 0 for items outside the history
-- Higher novelty = less obvious lists; popularity_bias near 1 = the model pushes the head.
--
-- Grain: fold, target, model, convention ('standard'), subset ('all'), metric, k (+ uid when per_user) -> value, weight (1), users.
-- Parameters (DuckDB variables, unset = default):
--   ks        INTEGER[]  cut-offs                                   default [10, 100]
--   fold      VARCHAR    only this fold                             default every fold
--   models    VARCHAR[]  only these models' lists                   default every model
--   per_user  BOOLEAN    one row per user (users = 1) not the mean  default false
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/popularity.sql"
with params as (
    select
        coalesce(getvariable('ks'), [10, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold,
        getvariable('models')::varchar[] as only_models,
        coalesce(getvariable('per_user'), false)::boolean as per_user
),

cutoffs as (
    select unnest(ks) as k from params
),

scored_lists as (
    -- the lists scored: the fold's (variable fold), of every model or of variable models
    select r.*
    from recommendations as r
    cross join params as p
    where (p.only_fold is null or r.fold = p.only_fold)
      and (p.only_models is null or list_contains(p.only_models, r.model))
),

evaluated_users as (
    select distinct t.fold, t.target, t.uid
    from eval_targets as t
    cross join params as p
    where p.only_fold is null or t.fold = p.only_fold
),

history as (
    select i.fold, i.target, i.uid, i.item_id
    from train_interactions as i
    cross join params as p
    where i.target_events > 0 and (p.only_fold is null or i.fold = p.only_fold)
),

history_users as (
    select fold, target, count(distinct uid) as n_users
    from history
    group by fold, target
),

item_popularity as (
    select fold, target, item_id, count(distinct uid) as n_users
    from history
    group by fold, target, item_id
),

item_stats as (
    -- every history item of the fold, for every target of the fold: popularity and percentile
    select
        f.fold, t.target, f.item_id, coalesce(p.n_users, 0) as n_users,
        percent_rank() over (partition by f.fold, t.target order by coalesce(p.n_users, 0))
            as percentile
    from (select distinct fold, item_id from item_features) as f
    inner join (select distinct fold, target from history_users) as t on t.fold = f.fold
    left join item_popularity as p
        on p.fold = f.fold and p.target = t.target and p.item_id = f.item_id
),

list_items as (
    select
        r.fold, r.target, r.model, c.k, r.uid,
        -log2((coalesce(s.n_users, 0) + 1) / (u.n_users + 1)) as self_information,
        coalesce(s.percentile, 0) as percentile
    from scored_lists as r
    semi join evaluated_users as e on e.fold = r.fold and e.target = r.target and e.uid = r.uid
    inner join cutoffs as c on r.rank <= c.k
    inner join history_users as u on u.fold = r.fold and u.target = r.target
    left join item_stats as s
        on s.fold = r.fold and s.target = r.target and s.item_id = r.item_id
),

per_user as (
    select
        fold, target, model, k, uid,
        avg(self_information) as novelty,
        avg(percentile) as popularity_bias
    from list_items
    group by fold, target, model, k, uid
),

per_user_long as (
    unpivot per_user
    on novelty, popularity_bias
    into name metric value value
)

-- per_user: the rows as they are; otherwise the mean (two branches: no 1-row groups to hash)
select
    l.fold, l.target, l.model, 'standard' as convention, 'all' as subset, l.metric, l.k::integer as k, l.uid,
    l.value::double as value, 1::double as weight, 1::bigint as users
from per_user_long as l
where (select per_user from params)
union all
select
    l.fold, l.target, l.model, 'standard' as convention, 'all' as subset, l.metric, l.k::integer as k,
    null::uinteger as uid, avg(l.value)::double as value, null::double as weight,
    count(*) as users
from per_user_long as l
where not (select per_user from params)
group by l.fold, l.target, l.model, l.metric, l.k
order by all
