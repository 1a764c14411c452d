{#- The aggregates of int_user_item_listens_aggregated for one fold, over a `listens` relation
    that holds only listens before the fold's cut-off `history_end_ts` (the caller filters), with
    `ts`, `is_organic`, `played_ratio_pct`, `track_length_seconds` and a `decay_weight` taken
    against `weights_until`; the decayed sums are rescaled from there to `history_end_ts`. -#}
{% macro listen_aggregates(history_end_ts, weights_until) -%}
    {%- set is_listen_plus = 'played_ratio_pct >= ' ~ (var('listen_plus_threshold') | int) -%}
    {%- set rescale = '' if history_end_ts == weights_until else ' * ' ~ decay_weight(weights_until, history_end_ts) -%}
    count(*) as listen_events,
    count(*) filter (where {{ is_listen_plus }}) as listen_plus_events,
    count(*) filter (where is_organic = 1) as organic_listen_events,
    count(*) filter (where played_ratio_pct < {{ var('skip_threshold') | int }}) as skip_events,
    {%- for w in var('feature_windows_days') %}
    count(*) filter (where ts >= {{ [history_end_ts | int - w | int * 86400, 0] | max }}) as listens_{{ w }}d,
    {%- endfor %}
    min(ts) as first_listen_ts,
    max(ts) as last_listen_ts,
    min(ts) filter (where {{ is_listen_plus }}) as first_listen_plus_ts,
    max(ts) filter (where {{ is_listen_plus }}) as last_listen_plus_ts,
    sum(decay_weight){{ rescale }} as decayed_listen_events,
    sum(decay_weight) filter (where {{ is_listen_plus }}){{ rescale }} as decayed_listen_plus_events,
    -- a DOUBLE state: exact for integer sums below 2^53, and cheaper than an integer sum's HUGEINT one
    sum(cast(played_ratio_pct as double)) as sum_played_ratio_pct,
    max(track_length_seconds) as track_length_seconds
{%- endmacro %}
