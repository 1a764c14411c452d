-- Beyond accuracy: intra-list diversity of each top-k list from the audio embeddings.
--
-- diversity = 1 - mean cosine similarity over the unordered pairs of distinct items of a user's
-- top-k list that have an embedding (item_embeddings.normalized_embed, unit norm, so the cosine
-- is the dot product, computed in DOUBLE). Pairs are enumerated within each list (k (k - 1) / 2
-- per list), so the cost grows with k squared: the default config asks for k = 10 only.
-- Users (evaluated users with recommendations) whose list holds fewer than two embedded items
-- have no value and are not counted.
--
-- Grain: fold, target, model, convention ('standard'), subset ('all'), metric ('diversity'), k (+ uid when per_user)
--        -> value, weight (1), users.
-- Parameters (DuckDB variables, unset = default):
--   ks        INTEGER[]  cut-offs                                   default [10, 100]
--   fold      VARCHAR    only this fold                             default every fold
--   models    VARCHAR[]  only these models' lists                   default every model
--   per_user  BOOLEAN    one row per user (users = 1) not the mean  default false
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/diversity.sql"
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

lists as (
    -- one integer id per (fold, target, model, uid) list: a small join key for the pairs
    select fold, target, model, uid, row_number() over () as list_id
    from (
        select distinct r.fold, r.target, r.model, r.uid
        from scored_lists as r
        semi join evaluated_users as u on u.fold = r.fold and u.target = r.target and u.uid = r.uid
    )
),

embedded_list_items as (
    select l.list_id, r.rank, e.normalized_embed::double[] as v
    from scored_lists as r
    inner join lists as l
        on l.fold = r.fold and l.target = r.target and l.model = r.model and l.uid = r.uid
    inner join item_embeddings as e on e.item_id = r.item_id
    where r.rank <= (select max(k) from cutoffs)
),

pairs as (
    -- a pair belongs to every top-k list that holds its lower-ranked item b
    select a.list_id, b.rank as pair_rank, list_dot_product(a.v, b.v) as similarity
    from embedded_list_items as a
    inner join embedded_list_items as b on b.list_id = a.list_id and a.rank < b.rank
),

per_list as (
    select
        l.fold, l.target, l.model, l.uid, c.k,
        sum(p.similarity) as sum_similarity,
        count(*) as n_pairs
    from pairs as p
    inner join cutoffs as c on p.pair_rank <= c.k
    inner join lists as l on l.list_id = p.list_id
    group by l.fold, l.target, l.model, l.uid, c.k
),

per_user as (
    select
        fold, target, model, k, uid,
        1 - sum_similarity / n_pairs as value
    from per_list
)

-- per_user: the rows as they are; otherwise the mean (two branches: no 1-row groups to hash)
select
    u.fold, u.target, u.model, 'standard' as convention, 'all' as subset, 'diversity' as metric, u.k::integer as k, u.uid,
    u.value::double as value, 1::double as weight, 1::bigint as users
from per_user as u
where (select per_user from params)
union all
select
    u.fold, u.target, u.model, 'standard' as convention, 'all' as subset, 'diversity' as metric, u.k::integer as k,
    null::uinteger as uid, avg(u.value)::double as value, null::double as weight,
    count(*) as users
from per_user as u
where not (select per_user from params)
group by u.fold, u.target, u.model, u.k
order by all
