-- Purpose: NDCG@k and Recall@k per (fold, target, model), the benchmark's reference SQL evaluation.
--   Used by `recsys bench` only when the evaluation package's metric SQL is not available; the
--   definitions are those of ../shared/YAMBDA.md (binary relevance over DISTINCT target items,
--   1-based ranks, IDCG over min(|T|, k), users without recommendations score 0).
-- Grain: one row per (fold, target, model, metric, k).
-- Parameters: $ks  INTEGER[]  cut-offs, e.g. [10, 100]
-- Reads: recommendations (fold, target, model, uid, item_id, rank), eval_targets (fold, target, uid, item_id)
with targets as (
    select distinct fold, target, uid, item_id from eval_targets
),
target_sizes as (
    select fold, target, uid, count(*) as n_targets from targets group by all
),
models as (
    select distinct fold, target, model from recommendations
),
cutoffs as (
    select unnest($ks::INTEGER[]) as k
),
ideal as (
    select i as n, sum(1.0 / log2(i + 1)) over (order by i) as idcg
    from range(1, (select max(k) from cutoffs) + 1) as t(i)
),
hits as (
    select r.fold, r.target, r.model, r.uid, r.rank
    from recommendations as r
    join targets as t using (fold, target, uid, item_id)
),
hits_per_user as (
    select h.fold, h.target, h.model, h.uid, c.k,
        sum(1.0 / log2(h.rank + 1)) as dcg,
        count(*) as n_hits
    from hits as h
    join cutoffs as c on h.rank <= c.k
    group by all
),
per_user as (
    select m.fold, m.target, m.model, c.k, s.uid,
        coalesce(h.dcg, 0) / i.idcg as ndcg,
        coalesce(h.n_hits, 0)::DOUBLE / s.n_targets as recall
    from models as m
    join target_sizes as s using (fold, target)
    cross join cutoffs as c
    join ideal as i on i.n = least(s.n_targets, c.k)
    left join hits_per_user as h
        on h.fold = m.fold and h.target = m.target and h.model = m.model and h.uid = s.uid and h.k = c.k
)
select fold, target, model, 'ndcg' as metric, k, avg(ndcg) as value, count(*) as users
from per_user group by all
union all
select fold, target, model, 'recall' as metric, k, avg(recall) as value, count(*) as users
from per_user group by all
order by fold, target, model, metric, k
