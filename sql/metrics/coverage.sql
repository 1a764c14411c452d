-- Coverage@k: distinct items across the top-k lists of a model, divided by the number of items
-- the model ranks: the distinct items with a TARGET-TYPE event in the fold's history
-- (train_interactions, target_events > 0), the Yambda paper's definition, in every convention.
--
-- Whose lists count (the numerator):
--   standard          the evaluated users (distinct uid of eval_targets for the fold and target)
--   paper, official   every ranked user: every user with target-type history, with or without
--                     targets (the official code's Coverage); `recommendations` holds their lists
-- Lists of other users are ignored. Every distinct item of the counted lists is in the
-- numerator, as the official code counts it, also an item outside the denominator's set (one a
-- generator may propose without a target-type event, e.g. only a dislike, or one outside the
-- catalogue), so a value above 1 is possible in principle. Coverage is one number per model:
-- there is no per-user value, so `per_user` does not change this query (uid is always null;
-- users = the users counted).
--
-- Grain: fold, target, model, convention, subset ('all'), metric ('coverage'), k -> value, users.
-- Parameters (DuckDB variables, unset = default):
--   ks          INTEGER[]  cut-offs                       default [10, 100]
--   fold        VARCHAR    only this fold                 default every fold
--   models      VARCHAR[]  only these models' lists       default every model
--   convention  VARCHAR    standard, paper or official    default 'standard'
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c "SET VARIABLE convention = 'paper'" \
--             -c ".read sql/metrics/coverage.sql"
with params as (
    select
        coalesce(getvariable('ks'), [10, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold,
        getvariable('models')::varchar[] as only_models,
        case
            when coalesce(getvariable('convention'), 'standard') in ('standard', 'paper', 'official')
                then coalesce(getvariable('convention'), 'standard')::varchar
            else error('Unknown convention ' || getvariable('convention')::varchar
                       || ': use standard, paper or official.')
        end as convention
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

history as (
    select i.fold, i.target, i.uid, i.item_id
    from train_interactions as i
    cross join params as p
    where i.target_events > 0 and (p.only_fold is null or i.fold = p.only_fold)
),

history_item_ids as (
    select distinct fold, target, item_id from history
),

history_items as (
    select fold, target, count(*) as n_items
    from history_item_ids
    group by fold, target
),

counted_users as (
    select distinct t.fold, t.target, t.uid
    from eval_targets as t
    cross join params as p
    where p.convention = 'standard' and (p.only_fold is null or t.fold = p.only_fold)
    union
    select distinct h.fold, h.target, h.uid
    from history as h
    cross join params as p
    where p.convention <> 'standard'
),

users_per_slice as (
    select fold, target, count(*) as users
    from counted_users
    group by fold, target
),

counted_recommendations as (
    select r.fold, r.target, r.model, r.item_id, r.rank
    from scored_lists as r
    semi join counted_users as u on u.fold = r.fold and u.target = r.target and u.uid = r.uid
),

slices as (
    select distinct r.fold, r.target, r.model
    from scored_lists as r
    cross join params as p
    where p.only_fold is null or r.fold = p.only_fold
),

covered as (
    select r.fold, r.target, r.model, c.k, count(distinct r.item_id) as n_covered
    from counted_recommendations as r
    inner join cutoffs as c on r.rank <= c.k
    group by r.fold, r.target, r.model, c.k
)

-- every model of a slice gets a row per k (0 when it has no list of a counted user)
select
    s.fold, s.target, s.model, p.convention, 'all' as subset, 'coverage' as metric,
    c.k::integer as k, null::uinteger as uid,
    (coalesce(v.n_covered, 0) / h.n_items)::double as value,
    u.users
from slices as s
cross join params as p
cross join cutoffs as c
inner join history_items as h on h.fold = s.fold and h.target = s.target
inner join users_per_slice as u on u.fold = s.fold and u.target = s.target
left join covered as v
    on v.fold = s.fold and v.target = s.target and v.model = s.model and v.k = c.k
order by all
