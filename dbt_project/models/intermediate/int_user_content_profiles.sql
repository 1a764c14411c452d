{#- Per (fold, uid): the user's recent audio taste, the mean normalized embedding of their latest
    `content_profile_items` distinct Listen+ items before the cut-off (by last Listen+ time, ties
    by item_id). Users whose recent items have no embedding get no row. -#}
with

recent_listen_plus_items as (
    -- a top-N heap per (fold, uid) (DuckDB's max_by with n), not a window sorting every pair;
    -- the key orders by last_listen_plus_ts desc, then item_id asc (the larger key wins)
    select
        fold,
        uid,
        unnest(max_by(
            item_id,
            cast(last_listen_plus_ts as ubigint) * 4294967296 + (4294967295 - item_id),
            {{ var('content_profile_items') | int }}
        )) as item_id
    from {{ ref('int_user_item_listens_aggregated') }}
    where listen_plus_events > 0
    group by fold, uid
),

with_embeddings as (
    select r.fold, r.uid, r.item_id, e.normalized_embed
    from recent_listen_plus_items as r
    inner join {{ ref('stg_embeddings') }} as e on r.item_id = e.item_id
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
