{#- Listens before each fold's cut-off, aggregated per (fold, uid, item_id): the one pass over
    the biggest file that user, item, user-item, user-artist features and train_interactions share. -#}
{%- set windows = var('feature_windows_days') -%}
{%- set threshold = var('listen_plus_threshold') | int -%}
with

listens_before_cutoff as (
    select
        f.fold,
        f.history_end_ts,
        e.uid,
        e.item_id,
        e.timestamp,
        e.is_organic,
        e.played_ratio_pct,
        e.track_length_seconds,
        case when e.played_ratio_pct >= {{ threshold }} then 1 else 0 end as is_listen_plus,
        case when e.played_ratio_pct < {{ var('skip_threshold') | int }} then 1 else 0 end as is_skip,
        {{ seconds_between('e.timestamp', 'f.history_end_ts') }} as age_seconds,
        {{ decay_weight('e.timestamp', 'f.history_end_ts') }} as decay_weight
    from {{ ref('stg_listens') }} as e
    inner join {{ ref('folds') }} as f
        on {{ before_cutoff('e.timestamp', 'f.history_end_ts') }}
),

aggregated as (
    select
        fold,
        uid,
        item_id,
        max(history_end_ts) as history_end_ts,
        count(*) as listen_events,
        cast(sum(is_listen_plus) as {{ dbt.type_bigint() }}) as listen_plus_events,
        cast(sum(is_organic) as {{ dbt.type_bigint() }}) as organic_listen_events,
        cast(sum(is_skip) as {{ dbt.type_bigint() }}) as skip_events,
        {%- for w in windows %}
        cast(sum(case when age_seconds <= {{ w | int * 86400 }} then 1 else 0 end) as {{ dbt.type_bigint() }}) as listens_{{ w }}d,
        {%- endfor %}
        min(timestamp) as first_listen_ts,
        max(timestamp) as last_listen_ts,
        min(case when is_listen_plus = 1 then timestamp end) as first_listen_plus_ts,
        max(case when is_listen_plus = 1 then timestamp end) as last_listen_plus_ts,
        sum(decay_weight) as decayed_listen_events,
        sum(is_listen_plus * decay_weight) as decayed_listen_plus_events,
        cast(sum(played_ratio_pct) as {{ dbt.type_bigint() }}) as sum_played_ratio_pct,
        max(track_length_seconds) as track_length_seconds
    from listens_before_cutoff
    group by fold, uid, item_id
)

select * from aggregated
