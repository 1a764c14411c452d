{#- Point-in-time user features: one row per (fold, uid) with any event before the cut-off. -#}
{%- set windows = var('feature_windows_days') -%}
with

history as (
    select h.*, m.artist_id
    from {{ ref('int_user_item_history_joined') }} as h
    left join {{ ref('int_items_mapped') }} as m on h.item_id = m.item_id
),

per_user as (
    select
        fold,
        uid,
        max(history_end_ts) as history_end_ts,
        cast(sum(listen_events) as {{ dbt.type_bigint() }}) as user_listen_events,
        {%- for w in windows %}
        cast(sum(listens_{{ w }}d) as {{ dbt.type_bigint() }}) as user_listens_{{ w }}d,
        {%- endfor %}
        cast(sum(listen_plus_events) as {{ dbt.type_bigint() }}) as user_listen_plus_events,
        sum(decayed_listen_events) as user_decayed_listen_events,
        {{ safe_ratio('sum(listen_plus_events)', 'sum(listen_events)') }} as user_listen_plus_rate,
        {{ safe_ratio('sum(skip_events)', 'sum(listen_events)') }} as user_skip_rate,
        {{ safe_ratio('sum(sum_played_ratio_pct)', 'sum(listen_events)') }} as user_mean_played_ratio_pct,
        cast(sum(like_events) as {{ dbt.type_bigint() }}) as user_like_events,
        cast(sum(dislike_events) as {{ dbt.type_bigint() }}) as user_dislike_events,
        count(*) filter (where is_liked = 1) as user_liked_items,
        count(*) filter (where is_disliked = 1) as user_disliked_items,
        count(*) filter (where listen_events > 0) as user_distinct_items,
        count(distinct case when listen_events > 0 then artist_id end) as user_distinct_artists,
        min(least(first_listen_ts, first_reaction_ts)) as first_event_ts,
        max(greatest(last_listen_ts, last_reaction_ts)) as last_event_ts
    from history
    group by fold, uid
),

organic as (
    select fold, uid, {{ organic_ratio_columns('user') }}
    from {{ ref('user_organic_ratios') }}
    group by fold, uid
),

features as (
    select
        p.fold,
        p.uid,
        p.user_listen_events,
        {%- for w in windows %}
        p.user_listens_{{ w }}d,
        {%- endfor %}
        p.user_listen_plus_events,
        p.user_decayed_listen_events,
        p.user_listen_plus_rate,
        p.user_skip_rate,
        p.user_mean_played_ratio_pct,
        p.user_like_events,
        p.user_dislike_events,
        p.user_liked_items,
        p.user_disliked_items,
        p.user_distinct_items,
        p.user_distinct_artists,
        o.user_organic_listen_ratio,
        o.user_organic_like_ratio,
        o.user_organic_dislike_ratio,
        o.user_organic_ratio,
        {{ days_between('p.first_event_ts', 'p.history_end_ts') }} as user_days_since_first_event,
        {{ days_between('p.last_event_ts', 'p.history_end_ts') }} as user_days_since_last_event,
        p.last_event_ts as user_last_event_ts
    from per_user as p
    left join organic as o on p.fold = o.fold and p.uid = o.uid
)

select * from features
