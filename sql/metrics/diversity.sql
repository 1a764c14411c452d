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

lists as (
    -- one integer id per (fold, target, model, uid) list: small keys for the per-dimension sums
    select fold, target, model, uid, row_number() over () as list_id
    from (
        select distinct r.fold, r.target, r.model, r.uid
        from recommendations as r
        semi join evaluated_users as u on u.fold = r.fold and u.target = r.target and u.uid = r.uid
    )
),

embedded_list_items as (
    select l.list_id, c.k, e.normalized_embed as v
    from recommendations as r
    inner join lists as l
        on l.fold = r.fold and l.target = r.target and l.model = r.model and l.uid = r.uid
    inner join item_embeddings as e on e.item_id = r.item_id
    inner join cutoffs as c on r.rank <= c.k
),

item_counts as (
    select list_id, k, count(*) as n_items, sum(list_dot_product(v::double[], v::double[])) as sum_item_norm2
    from embedded_list_items
    group by list_id, k
),

sum_vectors as (
    -- |S|^2 = sum over dimensions of (sum over the list's items of that component)^2
    select list_id, k, sum(s * s) as sum_norm2
    from (
        select list_id, k, dim, sum(x) as s
        from (
            select list_id, k, generate_subscripts(v, 1) as dim, unnest(v)::double as x
            from embedded_list_items
        )
        group by list_id, k, dim
    )
    group by list_id, k
),

per_list as (
    select l.fold, l.target, l.model, l.uid, n.k, s.sum_norm2, n.n_items, n.sum_item_norm2
    from item_counts as n
    inner join sum_vectors as s on s.list_id = n.list_id and s.k = n.k
    inner join lists as l on l.list_id = n.list_id
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
