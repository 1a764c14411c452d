{#- Listens before each fold's cut-off, aggregated per (fold, uid, item_id): the one pass over
    the biggest file that user, item, user-item, user-artist features and train_interactions share.

    One scan of the listens, not one per fold. The fold cut-offs (known at compile time, from
    fold_rows()) cut the time line into slices: slice 0 = before the earliest cut-off, slice s =
    between the s-th and (s+1)-th earliest cut-offs. The listens are aggregated once per
    (uid, item_id, slice); a fold's row is the combination of the slices before its cut-off:
    counts and sums add, min/max combine, and a decayed sum computed against the slice's own
    end rescales to the fold's cut-off by 0.5 ^ (gap / half-life). Windowed counts depend on the
    fold's cut-off, so each slice row carries them for every fold. The earliest fold is slice 0
    as it is; every later fold joins slice 0 with its few later slices (a small table). -#}
{%- set windows = var('feature_windows_days') -%}
{%- set threshold = var('listen_plus_threshold') | int -%}
{%- set skip = var('skip_threshold') | int -%}
{%- set folds = fold_rows() | sort(attribute='history_end_ts') -%}
{%- set n = folds | length -%}
{%- set bigint = dbt.type_bigint() -%}
with

listens_sliced as (
    select
        uid,
        item_id,
        timestamp as ts,  -- UINTEGER: 4-byte min/max states; differences are taken as BIGINT
        is_organic,
        played_ratio_pct,
        track_length_seconds,
        {%- if n == 1 %}
        0 as slice,
        {{ folds[0].history_end_ts }} as slice_end_ts
        {%- else %}
        case
            {%- for s in range(n - 1) %}
            when {{ before_cutoff('timestamp', folds[s].history_end_ts) }} then {{ s }}
            {%- endfor %}
            else {{ n - 1 }}
        end as slice,
        case
            {%- for s in range(n - 1) %}
            when {{ before_cutoff('timestamp', folds[s].history_end_ts) }} then {{ folds[s].history_end_ts }}
            {%- endfor %}
            else {{ folds[n - 1].history_end_ts }}
        end as slice_end_ts
        {%- endif %}
    from {{ ref('stg_listens') }}
    where {{ before_cutoff('timestamp', folds[n - 1].history_end_ts) }}
),

listens_weighted as (
    -- decay weight against the slice's end, once per listen; rescaled to each fold's cut-off below
    select *, {{ decay_weight('ts', 'slice_end_ts') }} as decay_weight
    from listens_sliced
),

per_slice as (
    select
        uid,
        item_id,
        slice,
        count(*) as listen_events,
        count(*) filter (where played_ratio_pct >= {{ threshold }}) as listen_plus_events,
        count(*) filter (where is_organic = 1) as organic_listen_events,
        count(*) filter (where played_ratio_pct < {{ skip }}) as skip_events,
        {%- for f in folds %}
        {%- for w in windows %}
        count(*) filter (where ts >= {{ [f.history_end_ts | int - w | int * 86400, 0] | max }}) as listens_{{ w }}d_{{ f.fold_index }},
        {%- endfor %}
        {%- endfor %}
        min(ts) as first_listen_ts,
        max(ts) as last_listen_ts,
        min(ts) filter (where played_ratio_pct >= {{ threshold }}) as first_listen_plus_ts,
        max(ts) filter (where played_ratio_pct >= {{ threshold }}) as last_listen_plus_ts,
        sum(decay_weight) as decayed_listen_events,
        sum(decay_weight) filter (where played_ratio_pct >= {{ threshold }}) as decayed_listen_plus_events,
        sum(cast(played_ratio_pct as {{ dbt.type_int() }})) as sum_played_ratio_pct,  -- INTEGER input: BIGINT-sized state
        max(track_length_seconds) as track_length_seconds
    from listens_weighted
    group by uid, item_id, slice
),

{#- the (uid, item_id) aggregates of the slices 1..s, decayed to fold s's cut-off (s >= 1) -#}
{%- for s in range(1, n) %}
{%- set f = folds[s] %}
later_slices_{{ s }} as (
    select
        uid,
        item_id,
        sum(listen_events) as listen_events,
        sum(listen_plus_events) as listen_plus_events,
        sum(organic_listen_events) as organic_listen_events,
        sum(skip_events) as skip_events,
        {%- for w in windows %}
        sum(listens_{{ w }}d_{{ f.fold_index }}) as listens_{{ w }}d,
        {%- endfor %}
        min(first_listen_ts) as first_listen_ts,
        max(last_listen_ts) as last_listen_ts,
        min(first_listen_plus_ts) as first_listen_plus_ts,
        max(last_listen_plus_ts) as last_listen_plus_ts,
        sum(decayed_listen_events * case slice
            {%- for t in range(1, s + 1) %} when {{ t }} then {{ decay_weight(folds[t].history_end_ts, f.history_end_ts) }}{% endfor %} end)
            as decayed_listen_events,
        sum(decayed_listen_plus_events * case slice
            {%- for t in range(1, s + 1) %} when {{ t }} then {{ decay_weight(folds[t].history_end_ts, f.history_end_ts) }}{% endfor %} end)
            as decayed_listen_plus_events,
        sum(sum_played_ratio_pct) as sum_played_ratio_pct,
        max(track_length_seconds) as track_length_seconds
    from per_slice
    where slice between 1 and {{ s }}
    group by uid, item_id
),
{%- endfor %}

per_fold as (
    {%- for s in range(n) %}
    {%- set f = folds[s] %}
    {%- if s == 0 %}
    select
        '{{ f.fold }}' as fold,
        uid,
        item_id,
        {{ f.history_end_ts }} as history_end_ts,
        listen_events,
        listen_plus_events,
        organic_listen_events,
        skip_events,
        {%- for w in windows %}
        listens_{{ w }}d_{{ f.fold_index }} as listens_{{ w }}d,
        {%- endfor %}
        first_listen_ts,
        last_listen_ts,
        first_listen_plus_ts,
        last_listen_plus_ts,
        decayed_listen_events,
        coalesce(decayed_listen_plus_events, 0) as decayed_listen_plus_events,
        sum_played_ratio_pct,
        track_length_seconds
    from per_slice
    where slice = 0
    {%- else %}
    {%- set rescale = decay_weight(folds[0].history_end_ts, f.history_end_ts) %}
    select
        '{{ f.fold }}' as fold,
        coalesce(e.uid, l.uid) as uid,
        coalesce(e.item_id, l.item_id) as item_id,
        {{ f.history_end_ts }} as history_end_ts,
        {%- for c in ['listen_events', 'listen_plus_events', 'organic_listen_events', 'skip_events'] %}
        coalesce(e.{{ c }}, 0) + coalesce(l.{{ c }}, 0) as {{ c }},
        {%- endfor %}
        {%- for w in windows %}
        coalesce(e.listens_{{ w }}d_{{ f.fold_index }}, 0) + coalesce(l.listens_{{ w }}d, 0) as listens_{{ w }}d,
        {%- endfor %}
        {%- for c, combine in [('first_listen_ts', 'least'), ('last_listen_ts', 'greatest'),
                               ('first_listen_plus_ts', 'least'), ('last_listen_plus_ts', 'greatest')] %}
        {{ combine_nullable(combine, 'e.' ~ c, 'l.' ~ c) }} as {{ c }},
        {%- endfor %}
        coalesce(e.decayed_listen_events * {{ rescale }}, 0) + coalesce(l.decayed_listen_events, 0)
            as decayed_listen_events,
        coalesce(e.decayed_listen_plus_events * {{ rescale }}, 0) + coalesce(l.decayed_listen_plus_events, 0)
            as decayed_listen_plus_events,
        {{ combine_nullable('sum', 'e.sum_played_ratio_pct', 'l.sum_played_ratio_pct') }} as sum_played_ratio_pct,
        {{ combine_nullable('greatest', 'e.track_length_seconds', 'l.track_length_seconds') }} as track_length_seconds
    from (select * from per_slice where slice = 0) as e
    full outer join later_slices_{{ s }} as l
        on e.uid = l.uid and e.item_id = l.item_id
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

typed as (
    select
        cast(fold as {{ dbt.type_string() }}) as fold,
        uid,
        item_id,
        cast(history_end_ts as {{ type_uint32() }}) as history_end_ts,
        cast(listen_events as {{ bigint }}) as listen_events,
        cast(listen_plus_events as {{ bigint }}) as listen_plus_events,
        cast(organic_listen_events as {{ bigint }}) as organic_listen_events,
        cast(skip_events as {{ bigint }}) as skip_events,
        {%- for w in windows %}
        cast(listens_{{ w }}d as {{ bigint }}) as listens_{{ w }}d,
        {%- endfor %}
        cast(first_listen_ts as {{ type_uint32() }}) as first_listen_ts,
        cast(last_listen_ts as {{ type_uint32() }}) as last_listen_ts,
        cast(first_listen_plus_ts as {{ type_uint32() }}) as first_listen_plus_ts,
        cast(last_listen_plus_ts as {{ type_uint32() }}) as last_listen_plus_ts,
        decayed_listen_events,
        decayed_listen_plus_events,
        cast(sum_played_ratio_pct as {{ bigint }}) as sum_played_ratio_pct,
        track_length_seconds
    from per_fold
)

select * from typed
-- depends_on: {{ ref('folds') }} (the cut-offs come from the same fold vars)
