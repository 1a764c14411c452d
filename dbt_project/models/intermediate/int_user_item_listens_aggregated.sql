{#- Listens before each fold's cut-off, aggregated per (fold, uid, item_id): the one pass over
    the biggest file that user, item, user-item, user-artist features and train_interactions share.

    The fold cut-offs are known at compile time (fold_rows()) and lie a target window apart, so
    an earlier fold k sees almost the same listens as the latest fold: only the pairs listened to
    at or after k's cut-off (about 1% at 50m) have other values in k.
    - per_pair: one group-by per (uid, item_id) over the listens before the latest cut-off gives
      the latest fold's aggregates, and for each earlier fold k its windowed counts and how many
      of the pair's listens come at or after k's cut-off.
    - A pair with none of those has k's values from per_pair: the latest fold's, but k's own
      windows, and decayed sums rescaled from the latest cut-off to k's (decay weights are taken
      once, against the latest cut-off, and 0.5 ^ (d / h) = 0.5 ^ (d' / h) * 0.5 ^ ((d - d') / h)).
    - relistened_k: the other pairs, aggregated again over their listens before k's cut-off (a
      semi-join on the pairs with later listens). A pair whose listens all come after k's
      cut-off has no row in k.
    An earlier fold costs a few counts in the big group-by instead of a second set of aggregates
    there; both older designs (a filtered aggregate per fold and column, or slices between
    cut-offs joined back per fold) took longer at 50m (docs/bench.md). -#}
{%- set folds = fold_rows() | sort(attribute='history_end_ts') -%}
{%- set latest_end = (folds | last).history_end_ts -%}
{%- set earlier = folds[:-1] -%}
{%- set windows = var('feature_windows_days') -%}
{%- set window_columns = [] -%}
{%- for w in windows %}{% do window_columns.append('listens_' ~ w ~ 'd') %}{% endfor -%}
{%- set decayed_columns = ['decayed_listen_events', 'decayed_listen_plus_events'] -%}
{%- set columns = ['listen_events', 'listen_plus_events', 'organic_listen_events', 'skip_events']
                  + window_columns
                  + ['first_listen_ts', 'last_listen_ts', 'first_listen_plus_ts', 'last_listen_plus_ts']
                  + decayed_columns + ['sum_played_ratio_pct', 'track_length_seconds'] -%}

with

listens as not materialized (
    -- not materialized: each use below re-reads the parquet columns it needs (cheaper than
    -- holding every listen in memory)
    select
        uid,
        item_id,
        timestamp as ts,  -- UINTEGER: 4-byte min/max states; differences are taken as BIGINT
        is_organic,
        played_ratio_pct,
        track_length_seconds,
        {{ decay_weight('timestamp', latest_end) }} as decay_weight  -- rescaled to earlier folds below
    from {{ ref('stg_listens') }}
    where {{ before_cutoff('timestamp', latest_end) }}
),

per_pair as (
    select
        uid,
        item_id,
        {{ listen_aggregates(latest_end, latest_end) | indent(4) }}
        {%- for f in earlier %}
        {%- set before = before_cutoff('ts', f.history_end_ts) %},
        -- fold {{ f.fold }}
        {%- for w in windows %}
        count(*) filter (where {{ before }} and ts >= {{ [f.history_end_ts | int - w | int * 86400, 0] | max }}) as listens_{{ w }}d_{{ f.fold_index }},
        {%- endfor %}
        count(*) filter (where not ({{ before }})) as later_listen_events_{{ f.fold_index }}
        {%- endfor %}
    from listens
    group by uid, item_id
),

{%- for f in earlier %}

relistened_{{ f.fold_index }} as (
    -- fold {{ f.fold }}'s pairs with listens at or after its cut-off, over their listens before it
    select
        uid,
        item_id,
        {{ listen_aggregates(f.history_end_ts, latest_end) | indent(4) }}
    from listens
    semi join (
        select distinct uid, item_id
        from listens
        where not ({{ before_cutoff('ts', f.history_end_ts) }})
    ) as relistened using (uid, item_id)
    where {{ before_cutoff('ts', f.history_end_ts) }}
    group by uid, item_id
),
{%- endfor %}

per_fold as (
    -- every pair in each fold it has no later listens for (all of them in the latest fold)
    select
        cut.fold,
        p.uid,
        p.item_id,
        cut.history_end_ts,
        {%- for c in columns %}
        {%- if earlier and (c in window_columns or c in decayed_columns) %}
        case cut.fold_position
            {%- for f in earlier %}
            when {{ loop.index0 }} then
            {%- if c in window_columns %} {{ c }}_{{ f.fold_index }}
            {%- else %} {{ c }} * {{ decay_weight(latest_end, f.history_end_ts) }}
            {%- endif %}
            {%- endfor %}
            else {{ c }}
        end as {{ c }}
        {%- else %}
        {{ c }}
        {%- endif %}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from per_pair as p
    cross join (values
        {%- for f in folds %}
        ({{ loop.index0 }}, '{{ f.fold }}', {{ f.history_end_ts }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as cut(fold_position, fold, history_end_ts)
    {%- if earlier %}
    where case cut.fold_position
        {%- for f in earlier %}
        when {{ loop.index0 }} then later_listen_events_{{ f.fold_index }}
        {%- endfor %}
        else 0
    end = 0
    {%- endif %}
    {%- for f in earlier %}

    union all

    select '{{ f.fold }}', uid, item_id, {{ f.history_end_ts }}, {{ columns | join(', ') }}
    from relistened_{{ f.fold_index }}
    {%- endfor %}
),

typed as (
    select
        cast(fold as {{ dbt.type_string() }}) as fold,
        uid,
        item_id,
        cast(history_end_ts as {{ type_uint32() }}) as history_end_ts,
        cast(listen_events as {{ dbt.type_bigint() }}) as listen_events,
        cast(listen_plus_events as {{ dbt.type_bigint() }}) as listen_plus_events,
        cast(organic_listen_events as {{ dbt.type_bigint() }}) as organic_listen_events,
        cast(skip_events as {{ dbt.type_bigint() }}) as skip_events,
        {%- for c in window_columns %}
        cast({{ c }} as {{ dbt.type_bigint() }}) as {{ c }},
        {%- endfor %}
        cast(first_listen_ts as {{ type_uint32() }}) as first_listen_ts,
        cast(last_listen_ts as {{ type_uint32() }}) as last_listen_ts,
        cast(first_listen_plus_ts as {{ type_uint32() }}) as first_listen_plus_ts,
        cast(last_listen_plus_ts as {{ type_uint32() }}) as last_listen_plus_ts,
        decayed_listen_events,
        coalesce(decayed_listen_plus_events, 0) as decayed_listen_plus_events,
        cast(sum_played_ratio_pct as {{ dbt.type_bigint() }}) as sum_played_ratio_pct,
        track_length_seconds
    from per_fold
)

select * from typed
-- depends_on: {{ ref('folds') }} (the cut-offs come from the same fold vars)
