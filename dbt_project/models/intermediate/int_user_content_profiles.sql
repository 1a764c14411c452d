{#- Per (fold, uid): the user's recent audio taste, the mean normalized embedding of their latest
    `content_profile_items` distinct Listen+ items before the cut-off (by last Listen+ time, ties
    by item_id). Users whose recent items have no embedding get no row. -#}
with

recent_listen_plus_items as (
    select
        fold,
        uid,
        item_id,
        row_number() over (
            partition by fold, uid order by last_listen_plus_ts desc, item_id asc
        ) as recency_rank
    from {{ ref('int_user_item_listens_aggregated') }}
    where listen_plus_events > 0
),

with_embeddings as (
    select r.fold, r.uid, r.item_id, e.normalized_embed
    from recent_listen_plus_items as r
    inner join {{ ref('stg_embeddings') }} as e on r.item_id = e.item_id
    where r.recency_rank <= {{ var('content_profile_items') | int }}
),

profiles as (
    select
        fold,
        uid,
        count(*) as profile_items,
        {{ vector_mean_agg('normalized_embed', 'item_id') }} as profile_embed
    from with_embeddings
    group by fold, uid
)

select * from profiles
