{#- Point-in-time item features: one row per (fold, item_id) with any event before the cut-off
    (the Coverage denominator), with the item's artist and album. -#}
{%- set windows = var('feature_windows_days') -%}
with

per_item as (
    select
        fold,
        item_id,
        max(history_end_ts) as history_end_ts,
        cast(sum(listen_events) as {{ dbt.type_bigint() }}) as item_listen_events,
        {%- for w in windows %}
        cast(sum(listens_{{ w }}d) as {{ dbt.type_bigint() }}) as item_listens_{{ w }}d,
        {%- endfor %}
        cast(sum(listen_plus_events) as {{ dbt.type_bigint() }}) as item_listen_plus_events,
        sum(decayed_listen_events) as item_decayed_listen_events,
        sum(decayed_listen_plus_events) as item_decayed_listen_plus_events,
        count(*) filter (where listen_events > 0) as item_listeners,
        cast(sum(like_events) as {{ dbt.type_bigint() }}) as item_like_events,
        cast(sum(dislike_events) as {{ dbt.type_bigint() }}) as item_dislike_events,
        count(*) filter (where is_liked = 1) as item_liked_users,
        count(*) filter (where is_disliked = 1) as item_disliked_users,
        {{ safe_ratio('sum(listen_plus_events)', 'sum(listen_events)') }} as item_listen_plus_rate,
        {{ safe_ratio('sum(sum_played_ratio_pct)', 'sum(listen_events)') }} as item_mean_played_ratio_pct,
        max(track_length_seconds) as track_length_seconds,
        min(least(first_listen_ts, first_reaction_ts)) as first_event_ts,
        max(greatest(last_listen_ts, last_reaction_ts)) as last_event_ts
    from {{ ref('int_user_item_history_joined') }}
    group by fold, item_id
),

organic as (
    select fold, item_id, {{ organic_ratio_columns('item') }}
    from {{ ref('item_organic_ratios') }}
    group by fold, item_id
),

with_artist as (
    select p.*, m.artist_id, m.album_id
    from per_item as p
    left join {{ ref('int_items_mapped') }} as m on p.item_id = m.item_id
),

artist_totals as (
    select fold, artist_id, cast(sum(item_listen_events) as {{ dbt.type_bigint() }}) as artist_listen_events
    from with_artist
    where artist_id is not null
    group by fold, artist_id
),

features as (
    select
        p.fold,
        p.item_id,
        p.artist_id,
        p.album_id,
        p.item_listen_events,
        {%- for w in windows %}
        p.item_listens_{{ w }}d,
        {%- endfor %}
        p.item_listen_plus_events,
        p.item_decayed_listen_events,
        p.item_decayed_listen_plus_events,
        p.item_listeners,
        p.item_like_events,
        p.item_dislike_events,
        p.item_liked_users,
        p.item_disliked_users,
        p.item_listen_plus_rate,
        p.item_mean_played_ratio_pct,
        {{ safe_ratio('p.item_like_events', 'p.item_listeners') }} as item_like_rate,
        {{ safe_ratio('p.item_dislike_events', 'p.item_listeners') }} as item_dislike_rate,
        o.item_organic_listen_ratio,
        o.item_organic_like_ratio,
        o.item_organic_dislike_ratio,
        o.item_organic_ratio,
        a.artist_listen_events,
        p.track_length_seconds,
        {{ days_between('p.first_event_ts', 'p.history_end_ts') }} as item_age_days,
        {{ days_between('p.last_event_ts', 'p.history_end_ts') }} as item_days_since_last_event,
        p.last_event_ts as item_last_event_ts,
        case when e.item_id is not null then 1 else 0 end as has_embedding
    from with_artist as p
    left join organic as o on p.fold = o.fold and p.item_id = o.item_id
    left join artist_totals as a on p.fold = a.fold and p.artist_id = a.artist_id
    left join {{ ref('item_embeddings') }} as e on p.item_id = e.item_id
)

select * from features
