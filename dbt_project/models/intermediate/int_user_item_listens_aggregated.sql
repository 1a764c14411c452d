{#- Listens before each fold's cut-off, aggregated per (fold, uid, item_id): the one pass over
    the biggest file that user, item, user-item, user-artist features and train_interactions share.

    One scan and one group-by per (uid, item_id) serve every fold, with no join. The fold
    cut-offs are known at compile time (fold_rows()). The listens scanned are those before the
    latest cut-off; an earlier fold k gets its aggregates from the same group:
    - counts and the played-ratio sum: the total minus the part at or after k's cut-off (a few
      days of listens, so few rows to update);
    - first listen and first Listen+: the overall ones, kept when they come before k's cut-off;
    - last listen, last Listen+, track length, windowed counts and decayed sums: aggregates
      filtered to before k's cut-off. Decay weights are computed once, against the latest
      cut-off, and rescaled to k's by 0.5 ^ ((k's cut-off - latest cut-off) / half-life).
    A pair has a row in fold k when its first listen comes before k's cut-off. The group-by's
    cost grows with its number of aggregates; aggregating per (uid, item_id, slice between
    cut-offs) instead and joining the slices back per fold took longer and twice the memory at
    50m (docs/bench.md). -#}
{%- set windows = var('feature_windows_days') -%}
{%- set threshold = var('listen_plus_threshold') | int -%}
{%- set skip = var('skip_threshold') | int -%}
{%- set folds = fold_rows() | sort(attribute='history_end_ts') -%}
{%- set latest_end = (folds | last).history_end_ts -%}
{%- set is_listen_plus = 'played_ratio_pct >= ' ~ threshold -%}
{%- set is_skip = 'played_ratio_pct < ' ~ skip -%}
{%- set int_type = dbt.type_int() -%}
{#- per_fold's columns, each with how fold k gets it from per_pair: own = its own aggregate
    (<column>_k), net = the total less the part at or after its cut-off, decayed = its own sum
    rescaled from the latest cut-off to its own, first = the overall first if before its cut-off -#}
{%- set columns = [('listen_events', 'net'), ('listen_plus_events', 'net'),
                   ('organic_listen_events', 'net'), ('skip_events', 'net')] -%}
{%- for w in windows %}{% do columns.append(('listens_' ~ w ~ 'd', 'own')) %}{% endfor -%}
{%- do columns.extend([('first_listen_ts', 'first'), ('last_listen_ts', 'own'),
                       ('first_listen_plus_ts', 'first'), ('last_listen_plus_ts', 'own'),
                       ('decayed_listen_events', 'decayed'), ('decayed_listen_plus_events', 'decayed'),
                       ('sum_played_ratio_pct', 'net'), ('track_length_seconds', 'own')]) -%}

with

listens as (
    select
        uid,
        item_id,
        timestamp as ts,  -- UINTEGER: 4-byte min/max states; differences are taken as BIGINT
        is_organic,
        played_ratio_pct,
        track_length_seconds,
        {{ decay_weight('timestamp', latest_end) }} as decay_weight  -- rescaled per fold below
    from {{ ref('stg_listens') }}
    where {{ before_cutoff('timestamp', latest_end) }}
),

per_pair as (
    select
        uid,
        item_id,
        -- over every listen scanned
        count(*) as listen_events,
        count(*) filter (where {{ is_listen_plus }}) as listen_plus_events,
        count(*) filter (where is_organic = 1) as organic_listen_events,
        count(*) filter (where {{ is_skip }}) as skip_events,
        sum(cast(played_ratio_pct as {{ int_type }})) as sum_played_ratio_pct,  -- INTEGER input: BIGINT-sized state
        min(ts) as first_listen_ts,
        min(ts) filter (where {{ is_listen_plus }}) as first_listen_plus_ts,
        {%- for f in folds %}
        {%- set k = f.fold_index %}
        {#- before fold f's cut-off; none for the latest fold, which every scanned listen is before -#}
        {%- set before = before_cutoff('ts', f.history_end_ts) if f.history_end_ts != latest_end else none %}
        -- fold {{ f.fold }}
        {%- if before %}
        {%- set after = 'not (' ~ before ~ ')' %}
        count(*) filter (where {{ after }}) as later_listen_events_{{ k }},
        count(*) filter (where {{ after }} and {{ is_listen_plus }}) as later_listen_plus_events_{{ k }},
        count(*) filter (where {{ after }} and is_organic = 1) as later_organic_listen_events_{{ k }},
        count(*) filter (where {{ after }} and {{ is_skip }}) as later_skip_events_{{ k }},
        sum(cast(played_ratio_pct as {{ int_type }})) filter (where {{ after }}) as later_sum_played_ratio_pct_{{ k }},
        {%- endif %}
        {%- for w in windows %}
        count(*){{ filter_where([before, 'ts >= ' ~ [f.history_end_ts | int - w | int * 86400, 0] | max]) }} as listens_{{ w }}d_{{ k }},
        {%- endfor %}
        max(ts){{ filter_where([before]) }} as last_listen_ts_{{ k }},
        max(ts){{ filter_where([before, is_listen_plus]) }} as last_listen_plus_ts_{{ k }},
        sum(decay_weight){{ filter_where([before]) }} as decayed_listen_events_{{ k }},
        sum(decay_weight){{ filter_where([before, is_listen_plus]) }} as decayed_listen_plus_events_{{ k }},
        max(track_length_seconds){{ filter_where([before]) }} as track_length_seconds_{{ k }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from listens
    group by uid, item_id
),

per_fold as (
    -- one row per pair and fold; each column picks its fold's value by the fold's position
    select
        cut.fold,
        p.uid,
        p.item_id,
        cut.history_end_ts,
        {%- for c, how in columns %}
        {%- if how == 'first' %}
        case when {{ before_cutoff('p.' ~ c, 'cut.history_end_ts') }} then p.{{ c }} end as {{ c }},
        {%- else %}
        case cut.fold_position
            {%- for f in folds %}
            {%- set latest = f.history_end_ts == latest_end %}
            when {{ loop.index0 }} then
            {%- if how == 'own' %} {{ c }}_{{ f.fold_index }}
            {%- elif how == 'net' %} {{ c }}{% if not latest %} - coalesce(later_{{ c }}_{{ f.fold_index }}, 0){% endif %}
            {%- else %} {{ c }}_{{ f.fold_index }}{% if not latest %} * {{ decay_weight(latest_end, f.history_end_ts) }}{% endif %}
            {%- endif %}
            {%- endfor %}
        end as {{ c }}{% if not loop.last %},{% endif %}
        {%- endif %}
        {%- endfor %}
    from per_pair as p
    cross join (values
        {%- for f in folds %}
        ({{ loop.index0 }}, '{{ f.fold }}', {{ f.history_end_ts }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as cut(fold_position, fold, history_end_ts)
    where {{ before_cutoff('p.first_listen_ts', 'cut.history_end_ts') }}
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
        {%- for w in windows %}
        cast(listens_{{ w }}d as {{ dbt.type_bigint() }}) as listens_{{ w }}d,
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
