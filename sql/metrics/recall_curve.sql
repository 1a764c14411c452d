-- Recall@k at many cut-offs (the report's Recall@k curves), standard convention, subset 'all'.
--
-- Inputs: recommendations (fold, target, model, uid, item_id, rank), eval_targets (fold, target,
-- uid, item_id). Per evaluated user (distinct uid of eval_targets for the fold and target):
-- hits among the DISTINCT target items in the top k / number of distinct target items; a user
-- without a list scores 0. The same number as accuracy.sql's recall at every k it shares.
--
-- Grain: fold, target, model, k -> value (mean over evaluated users), users.
-- Parameters (DuckDB variables, unset = default):
--   curve_ks  INTEGER[]  cut-offs          default [1, 2, 5, 10, 20, 50, 100]
--   fold      VARCHAR    only this fold    default every fold
--   models    VARCHAR[]  only these models' lists default every model
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/recall_curve.sql"
with params as (
    select
        coalesce(getvariable('curve_ks'), [1, 2, 5, 10, 20, 50, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold,
        getvariable('models')::varchar[] as only_models
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

targets as (
    select t.fold, t.target, t.uid, t.item_id
    from eval_targets as t
    cross join params as p
    where p.only_fold is null or t.fold = p.only_fold
),

target_sizes as (
    select fold, target, uid, count(*) as n_targets
    from targets
    group by fold, target, uid
),

models as (
    select distinct r.fold, r.target, r.model
    from scored_lists as r
    cross join params as p
    where p.only_fold is null or r.fold = p.only_fold
),

hit_ranks as (
    select r.fold, r.target, r.model, r.uid, r.rank
    from scored_lists as r
    inner join targets as t
        on t.fold = r.fold and t.target = r.target and t.uid = r.uid and t.item_id = r.item_id
    where r.rank <= (select max(k) from cutoffs)
),

per_user as (
    select
        s.fold, s.target, m.model, c.k, s.uid,
        count(h.rank) / any_value(s.n_targets) as recall
    from target_sizes as s
    inner join models as m on m.fold = s.fold and m.target = s.target
    cross join cutoffs as c
    left join hit_ranks as h
        on h.fold = s.fold and h.target = s.target and h.model = m.model and h.uid = s.uid
        and h.rank <= c.k
    group by s.fold, s.target, m.model, c.k, s.uid
)

select fold, target, model, k::integer as k, avg(recall)::double as value, count(*) as users
from per_user
group by fold, target, model, k
order by all
