-- Beyond accuracy: intra-list diversity of each top-k list from the audio embeddings.
--
-- diversity = 1 - mean cosine similarity over the unordered pairs of distinct items of a user's
-- top-k list that have an embedding (item_embeddings.normalized_embed, unit norm, so the cosine
-- is the dot product). It is computed without enumerating pairs: for n vectors v_i with sum S,
--   sum_{i != j} v_i . v_j = |S|^2 - sum_i |v_i|^2,  mean pair similarity = that / (n (n - 1)).
-- Users (evaluated users with recommendations) whose list holds fewer than two embedded items
-- have no value and are not counted.
--
-- Grain: fold, target, model, subset ('all'), metric ('diversity'), k (+ uid when per_user)
--        -> value, users.
-- Parameters (DuckDB variables, unset = default):
--   ks        INTEGER[]  cut-offs                                   default [10, 100]
--   fold      VARCHAR    only this fold                             default every fold
--   per_user  BOOLEAN    one row per user (users = 1) not the mean  default false
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/diversity.sql"
with params as (
    select
        coalesce(getvariable('ks'), [10, 100])::integer[] as ks,
        getvariable('fold')::varchar as only_fold,
        coalesce(getvariable('per_user'), false)::boolean as per_user
),

cutoffs as (
    select unnest(ks) as k from params
),

evaluated_users as (
    select distinct t.fold, t.target, t.uid
    from eval_targets as t
    cross join params as p
    where p.only_fold is null or t.fold = p.only_fold
),

embedded_list_items as (
    select r.fold, r.target, r.model, r.uid, r.rank, e.normalized_embed as v
    from recommendations as r
    semi join evaluated_users as u on u.fold = r.fold and u.target = r.target and u.uid = r.uid
    inner join item_embeddings as e on e.item_id = r.item_id
    where r.rank <= (select max(k) from cutoffs)
),

components as (
    select
        fold, target, model, uid, rank,
        generate_subscripts(v, 1) as dim,
        unnest(v)::double as x
    from embedded_list_items
),

squared_norms as (
    select fold, target, model, uid, rank, sum(x * x) as norm2
    from components
    group by fold, target, model, uid, rank
),

sum_vectors as (
    select c.fold, c.target, c.model, k.k, c.uid, c.dim, sum(c.x) as s
    from components as c
    inner join cutoffs as k on c.rank <= k.k
    group by c.fold, c.target, c.model, k.k, c.uid, c.dim
),

per_list as (
    select
        s.fold, s.target, s.model, s.k, s.uid, sum(s.s * s.s) as sum_norm2,
        any_value(n.n_items) as n_items, any_value(n.sum_item_norm2) as sum_item_norm2
    from sum_vectors as s
    inner join (
        select q.fold, q.target, q.model, k.k, q.uid,
            count(*) as n_items, sum(q.norm2) as sum_item_norm2
        from squared_norms as q
        inner join cutoffs as k on q.rank <= k.k
        group by q.fold, q.target, q.model, k.k, q.uid
    ) as n
        on n.fold = s.fold and n.target = s.target and n.model = s.model and n.k = s.k
        and n.uid = s.uid
    group by s.fold, s.target, s.model, s.k, s.uid
),

per_user as (
    select
        fold, target, model, k, uid,
        1 - (sum_norm2 - sum_item_norm2) / (n_items * (n_items - 1)) as value
    from per_list
    where n_items >= 2
)

select
    u.fold, u.target, u.model, 'all' as subset, 'diversity' as metric, u.k::integer as k,
    case when p.per_user then u.uid end as uid,
    avg(u.value)::double as value,
    count(*) as users
from per_user as u
cross join params as p
group by all
order by all
