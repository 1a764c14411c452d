-- Accuracy metrics: ndcg, recall, precision, hitrate, mrr, map at every cut-off k.
--
-- Inputs: recommendations (fold, target, model, uid, item_id, rank 1-based, score), eval_targets
-- (fold, target, uid, item_id, is_organic, target_events). Binary relevance over the DISTINCT
-- target items T of a user (definitions: ../../../shared/YAMBDA.md, sql/metrics/README.md):
--   ndcg      = sum_{hit at rank r <= k} 1/log2(r+1)  /  sum_{i=1..min(|T|,k)} 1/log2(i+1)
--   recall    = hits / |T|                 precision = hits / k       hitrate = 1 if hits > 0
--   mrr       = 1 / rank of the first hit  map       = sum_{hit at r} (hits up to r)/r / min(|T|,k)
-- Users are the evaluated users (distinct uid in eval_targets of the fold and target); a user
-- without recommendations from a model scores 0 for that model. Subsets: 'all' targets,
-- 'organic' (is_organic = 1) and 'recommendation' (is_organic = 0) targets only; a user enters a
-- subset when it holds at least one of its targets.
-- yambda_official = true reproduces the official Yambda code: |T| counts target EVENTS (repeats),
-- and recall = hits / min(|T|, k).
--
-- Grain: fold, target, model, subset, metric, k (+ uid when per_user) -> value, users.
-- Parameters (DuckDB variables, unset = default):
--   ks               INTEGER[]  cut-offs                                   default [10, 100]
--   fold             VARCHAR    only this fold                             default every fold
--   yambda_official  BOOLEAN    official Yambda conventions                default false
--   per_user         BOOLEAN    one row per user (users = 1) not the mean  default false
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c "SET VARIABLE ks = [10, 100]" \
--             -c ".read sql/metrics/accuracy.sql"
with params as (
    select
        coalesce(getvariable('ks'), [10, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold,
        coalesce(getvariable('yambda_official'), false)::boolean as official,
        coalesce(getvariable('per_user'), false)::boolean as per_user
),

cutoffs as (
    select unnest(ks) as k from params
),

subsets as (
    select * from (values ('all'), ('organic'), ('recommendation')) as s (subset)
),

targets_by_subset as (
    select t.fold, t.target, s.subset, t.uid, t.item_id, t.target_events
    from eval_targets as t
    cross join subsets as s
    cross join params as p
    where (p.only_fold is null or t.fold = p.only_fold)
      and (s.subset = 'all' or (s.subset = 'organic') = (t.is_organic = 1))
),

target_sizes as (
    select
        fold, target, subset, uid,
        -- distinct target items, or target events (with repeats) in the official convention
        case when any_value(p.official) then sum(target_events) else count(*) end as n_targets
    from targets_by_subset
    cross join params as p
    group by fold, target, subset, uid
),

models as (
    select distinct r.fold, r.target, r.model
    from recommendations as r
    cross join params as p
    where p.only_fold is null or r.fold = p.only_fold
),

evaluated_lists as (
    -- every evaluated user x every model of its fold and target
    select m.model, s.*
    from target_sizes as s
    inner join models as m on m.fold = s.fold and m.target = s.target
),

hits as (
    select
        r.fold, r.target, r.model, t.subset, r.uid, r.rank,
        row_number() over (
            partition by r.fold, r.target, r.model, t.subset, r.uid order by r.rank
        ) as hits_so_far
    from recommendations as r
    inner join targets_by_subset as t
        on t.fold = r.fold and t.target = r.target and t.uid = r.uid and t.item_id = r.item_id
    where r.rank <= (select max(k) from cutoffs)
),

ideal_dcg as (
    -- idcg(n) = sum_{i = 1..n} 1/log2(i + 1)
    select n, sum(1 / log2(n + 1)) over (order by n) as idcg
    from range(1, (select max(k) from cutoffs) + 1) as t (n)
),

per_user_counts as (
    select
        e.fold, e.target, e.model, e.subset, c.k, e.uid, any_value(e.n_targets) as n_targets,
        count(h.rank) as n_hits,
        coalesce(sum(1 / log2(h.rank + 1)), 0) as dcg,
        min(h.rank) as first_hit_rank,
        coalesce(sum(h.hits_so_far / h.rank), 0) as sum_precision_at_hits
    from evaluated_lists as e
    cross join cutoffs as c
    left join hits as h
        on h.fold = e.fold and h.target = e.target and h.model = e.model
        and h.subset = e.subset and h.uid = e.uid and h.rank <= c.k
    group by e.fold, e.target, e.model, e.subset, c.k, e.uid
),

per_user as (
    select
        u.fold, u.target, u.model, u.subset, u.k, u.uid,
        u.dcg / i.idcg as ndcg,
        u.n_hits / (case when p.official then least(u.n_targets, u.k) else u.n_targets end) as recall,
        u.n_hits / u.k as "precision",
        (u.n_hits > 0)::double as hitrate,
        coalesce(1 / u.first_hit_rank, 0) as mrr,
        u.sum_precision_at_hits / least(u.n_targets, u.k) as map
    from per_user_counts as u
    cross join params as p
    inner join ideal_dcg as i on i.n = least(u.n_targets, u.k)
),

per_user_long as (
    unpivot per_user
    on ndcg, recall, "precision", hitrate, mrr, map
    into name metric value value
)

-- per_user: the rows as they are; otherwise the mean (two branches: no 1-row groups to hash)
select
    l.fold, l.target, l.model, l.subset, l.metric, l.k::integer as k, l.uid,
    l.value::double as value, 1::bigint as users
from per_user_long as l
where (select per_user from params)
union all
select
    l.fold, l.target, l.model, l.subset, l.metric, l.k::integer as k, null::uinteger as uid,
    avg(l.value)::double as value, count(*) as users
from per_user_long as l
where not (select per_user from params)
group by l.fold, l.target, l.model, l.subset, l.metric, l.k
order by all
