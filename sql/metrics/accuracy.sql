-- Accuracy metrics in three conventions: ndcg, recall, precision, hitrate (+ mrr, map in the
-- standard convention) at every cut-off k, per subset of the targets.
--
-- Inputs: recommendations (fold, target, model, uid, item_id, rank 1-based, score), eval_targets
-- (fold, target, uid, item_id, is_organic, is_repeat, target_events). A ranked item is a hit when
-- its id is among the user's target items; each ranked item counts once. n_u = the user's number
-- of targets; R_k = the top k; idcg(n) = sum_{i=1..n} 1/log2(i+1). Formulas: sql/metrics/README.md.
--   standard  binary relevance over the DISTINCT target items (n_u = |T|), trec_eval-equal:
--             ndcg = dcg@k / idcg(min(n_u,k)), recall = hits / n_u, precision = hits / k,
--             hitrate, mrr = 1/first hit rank, map = sum_{hit at r} (hits up to r)/r / min(n_u,k)
--   paper     the Yambda paper's code (before its fixes): n_u = target EVENTS (repeats kept),
--             recall = hits / n_u, ndcg = sum_u dcg_u@k / sum_u idcg(min(n_u,k)) (a ratio of
--             sums: per-user value dcg/idcg with weight idcg, so the weighted mean is the ratio)
--   official  the official code as published: n_u = target events, recall = hits / min(n_u,k),
--             ndcg = dcg_u / dcg_u (0 without a hit), i.e. equal to hitrate
-- Users are the evaluated users (distinct uid in eval_targets of the fold and target); a user
-- without recommendations from a model scores 0. Subsets: 'all' targets; 'organic' (is_organic =
-- 1) / 'recommendation' (0); 'repeat' (is_repeat = 1: the user had a listen of the item before
-- the cut-off) / 'discovery' (0). A user enters a subset when it holds one of its targets.
-- The mean over users is weighted by `weight` (1 except paper ndcg).
--
-- Grain: fold, target, model, convention, subset, metric, k (+ uid when per_user) -> value,
-- weight, users.
-- Parameters (DuckDB variables, unset = default):
--   ks          INTEGER[]  cut-offs                                     default [10, 100]
--   fold        VARCHAR    only this fold                               default every fold
--   models      VARCHAR[]  only these models' lists                     default every model
--   convention  VARCHAR    standard, paper or official                  default 'standard'
--   per_user    BOOLEAN    one row per user (users = 1), not the mean   default false
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c "SET VARIABLE ks = [10, 100]" \
--             -c "SET VARIABLE convention = 'paper'" -c ".read sql/metrics/accuracy.sql"
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
        end as convention,
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

subsets as (
    select * from (
        values ('all'), ('organic'), ('recommendation'), ('repeat'), ('discovery')
    ) as s (subset)
),

targets_by_subset as (
    select t.fold, t.target, s.subset, t.uid, t.item_id, t.target_events
    from eval_targets as t
    cross join subsets as s
    cross join params as p
    where (p.only_fold is null or t.fold = p.only_fold)
      and case s.subset
          when 'all' then true
          when 'organic' then t.is_organic = 1
          when 'recommendation' then t.is_organic = 0
          when 'repeat' then t.is_repeat = 1
          else t.is_repeat = 0
      end
),

target_sizes as (
    select
        fold, target, subset, uid,
        -- distinct target items (standard) or target events with repeats (paper, official)
        case when any_value(p.convention) = 'standard' then count(*) else sum(target_events) end
            as n_targets
    from targets_by_subset
    cross join params as p
    group by fold, target, subset, uid
),

models as (
    select distinct r.fold, r.target, r.model
    from scored_lists as r
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
    from scored_lists as r
    inner join targets_by_subset as t
        on t.fold = r.fold and t.target = r.target and t.uid = r.uid and t.item_id = r.item_id
    where r.rank <= (select max(k) from cutoffs)
),

ideal_dcg as (
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
        u.fold, u.target, u.model, p.convention, u.subset, u.k, u.uid, i.idcg,
        case when p.convention = 'official' then (u.n_hits > 0)::double
             else u.dcg / i.idcg end as ndcg,
        u.n_hits / (case when p.convention = 'official' then least(u.n_targets, u.k)
                         else u.n_targets end) as recall,
        u.n_hits / u.k as "precision",
        (u.n_hits > 0)::double as hitrate,
        coalesce(1 / u.first_hit_rank, 0) as mrr,
        u.sum_precision_at_hits / least(u.n_targets, u.k) as map
    from per_user_counts as u
    cross join params as p
    inner join ideal_dcg as i on i.n = least(u.n_targets, u.k)
),

per_user_long as (
    select
        l.* exclude (idcg),
        case when l.convention = 'paper' and l.metric = 'ndcg' then l.idcg else 1 end::double
            as weight
    from (
        unpivot per_user
        on ndcg, recall, "precision", hitrate, mrr, map
        into name metric value value
    ) as l
    -- mrr and map have no paper / official definition here
    where l.convention = 'standard' or l.metric not in ('mrr', 'map')
)

-- per_user: the rows as they are; otherwise the weighted mean (two branches: no 1-row groups)
select
    l.fold, l.target, l.model, l.convention, l.subset, l.metric, l.k::integer as k, l.uid,
    l.value::double as value, l.weight, 1::bigint as users
from per_user_long as l
where (select per_user from params)
union all
select
    l.fold, l.target, l.model, l.convention, l.subset, l.metric, l.k::integer as k,
    null::uinteger as uid, (sum(l.value * l.weight) / sum(l.weight))::double as value,
    null::double as weight, count(*) as users
from per_user_long as l
where not (select per_user from params)
group by l.fold, l.target, l.model, l.convention, l.subset, l.metric, l.k
order by all
