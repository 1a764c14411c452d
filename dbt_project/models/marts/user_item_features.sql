{{ config(materialized='view') }}
{#- Point-in-time user-item features: one row per (fold, uid, item_id) with any event before the
    cut-off. Candidate pairs without a row here have no history (candidate_features leaves nulls).
    A view (renames and ratios over int_user_item_history_joined): it has a row per
    user-item pair, so it is computed only where it is read, e.g. for the candidate pairs. -#}
with

history as (
    select * from {{ ref('int_user_item_history_joined') }}
),

features as (
    select
        fold,
        uid,
        item_id,
        listen_events as ui_listen_events,
        listen_plus_events as ui_listen_plus_events,
        {%- for w in var('feature_windows_days') %}
        listens_{{ w }}d as ui_listens_{{ w }}d,
        {%- endfor %}
        decayed_listen_events as ui_decayed_listen_events,
        decayed_listen_plus_events as ui_decayed_listen_plus_events,
        {{ safe_ratio('listen_plus_events', 'listen_events') }} as ui_listen_plus_rate,
        {{ safe_ratio('skip_events', 'listen_events') }} as ui_skip_rate,
        {{ safe_ratio('sum_played_ratio_pct', 'listen_events') }} as ui_mean_played_ratio_pct,
        {{ safe_ratio('organic_listen_events', 'listen_events') }} as ui_organic_listen_ratio,
        {{ seconds_between('last_listen_ts', 'history_end_ts') }} as ui_seconds_since_last_listen,
        {{ seconds_between('first_listen_ts', 'history_end_ts') }} as ui_seconds_since_first_listen,
        {{ seconds_between('last_listen_plus_ts', 'history_end_ts') }} as ui_seconds_since_last_listen_plus,
        like_events as ui_like_events,
        dislike_events as ui_dislike_events,
        is_liked as ui_is_liked,
        is_disliked as ui_is_disliked,
        last_listen_ts as ui_last_listen_ts,
        last_reaction_ts as ui_last_reaction_ts
    from history
)

select * from features
