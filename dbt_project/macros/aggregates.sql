{#- The aggregates of int_user_item_listens_aggregated for one fold, over listens that all come
    before the fold's cut-off `history_end_ts` (the caller filters), with columns `ts`,
    `is_organic`, `played_ratio_pct` and `track_length_seconds`. `history_end_ts` is a number
    known at compile time (constant window bounds) or a column. Decay weights are taken against
    `weights_until` (per aggregated row only, not per row scanned), then multiplied by
    `decay_rescale` when given. -#}
{% macro listen_aggregates(history_end_ts, weights_until, decay_rescale=none) -%}
    {%- set is_listen_plus = 'played_ratio_pct >= ' ~ (var('listen_plus_threshold') | int) -%}
    {%- set rescale = ' * ' ~ decay_rescale if decay_rescale else '' -%}
    count(*) as listen_events,
    count(*) filter (where {{ is_listen_plus }}) as listen_plus_events,
    count(*) filter (where is_organic = 1) as organic_listen_events,
    count(*) filter (where played_ratio_pct < {{ var('skip_threshold') | int }}) as skip_events,
    {%- for w in var('feature_windows_days') %}
    {%- if history_end_ts is number %}
    count(*) filter (where ts >= {{ [history_end_ts | int - w | int * 86400, 0] | max }}) as listens_{{ w }}d,
    {%- else %}
    count(*) filter (where {{ seconds_between('ts', history_end_ts) }} <= {{ w | int * 86400 }}) as listens_{{ w }}d,
    {%- endif %}
    {%- endfor %}
    min(ts) as first_listen_ts,
    max(ts) as last_listen_ts,
    min(ts) filter (where {{ is_listen_plus }}) as first_listen_plus_ts,
    max(ts) filter (where {{ is_listen_plus }}) as last_listen_plus_ts,
    {%- set weight = decay_weight('ts', weights_until) %}
    sum({{ weight }}){{ rescale }} as decayed_listen_events,
    sum({{ weight }}) filter (where {{ is_listen_plus }}){{ rescale }} as decayed_listen_plus_events,
    -- a DOUBLE state: exact for integer sums below 2^53, and cheaper than an integer sum's HUGEINT one
    sum(cast(played_ratio_pct as double)) as sum_played_ratio_pct,
    max(track_length_seconds) as track_length_seconds
{%- endmacro %}
