-- The next-song task (README, "Serving"): per session of next_song_queries of fold
-- getvariable('fold') and per model of next_song_recommendations, HitRate@k, MRR@k and NDCG@k
-- for every k of getvariable('ks'). One relevant item per session (its hidden last listen):
-- HitRate@k = 1 if it is in the top k; MRR@k = 1 / its rank there; NDCG@k = 1 / log2(rank + 1)
-- (the ideal list holds it at rank 1). A session the model has no list for scores 0.
with

queries as (
    select uid, session, answer_item from next_song_queries where fold = getvariable('fold')
),

models as (
    select distinct model from next_song_recommendations where fold = getvariable('fold')
),

found as (
    select r.model, q.uid, q.session, min(r.rank) as rank
    from queries as q
    inner join next_song_recommendations as r
        on r.fold = getvariable('fold') and r.uid = q.uid and r.session = q.session
        and r.item_id = q.answer_item
    group by r.model, q.uid, q.session
),

per_session as (
    select m.model, q.uid, q.session, f.rank, k.k
    from queries as q
    cross join models as m
    cross join (select unnest(getvariable('ks')) as k) as k
    left join found as f on f.model = m.model and f.uid = q.uid and f.session = q.session
),

metrics as (
    select model, uid, session, 'hitrate' as metric, k,
           case when rank <= k then 1.0 else 0.0 end as value
    from per_session
    union all
    select model, uid, session, 'mrr', k, case when rank <= k then 1.0 / rank else 0.0 end
    from per_session
    union all
    select model, uid, session, 'ndcg', k,
           case when rank <= k then 1.0 / log2(rank + 1) else 0.0 end
    from per_session
)

select getvariable('fold') as fold, model, uid, session, metric, k, value
from metrics
order by model, metric, k, uid, session
