{#- Listens before each fold's cut-off, aggregated per (fold, uid, item_id): the one pass over
    the biggest file that user, item, user-item, user-artist features and train_interactions share.

    The fold cut-offs are known at compile time (fold_rows()) and lie a target window apart, so
    an earlier fold k sees almost the same listens as the latest fold: only the pairs listened to
    at or after k's cut-off (about 1% at 50m) have other values in k.
    - per_pair: one group-by per (uid, item_id) over the listens before the latest cut-off gives
      the latest fold's aggregates and each earlier fold's windowed counts.
    - A pair whose last listen comes before k's cut-off has k's values from per_pair: the latest
      fold's, but k's own windows, and decayed sums rescaled from the latest cut-off to k's
      (weights are taken against the latest cut-off, and 0.5 ^ (d / h) = 0.5 ^ (d' / h) *
      0.5 ^ ((d - d') / h)).
    - relistened: the other pairs of every earlier fold, aggregated again over their listens
      before its cut-off (a join on the few pairs with a listen at or after the earliest
      cut-off). A pair whose listens all come after k's cut-off has no row in k.
    So the listens are read three times whatever the number of folds, and an earlier fold adds
    only its windows to the big group-by. Both older designs (a filtered aggregate per fold and
    column, or slices between cut-offs joined back per fold) took longer at 50m (docs/bench.md). -#}
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

cut_offs as (
    -- every fold's cut-off, and the factor that takes decayed sums from the latest cut-off to it
    select *
    from (values
        {%- for f in folds %}
        ({{ loop.index0 }}, '{{ f.fold }}', {{ f.history_end_ts }}, {{ decay_weight(latest_end, f.history_end_ts) }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as cut(fold_position, fold, history_end_ts, decay_rescale)
),

listens as not materialized (
    -- not materialized: each use below re-reads the parquet columns it needs (cheaper than
    -- holding every listen in memory)
    select
        uid,
        item_id,
        timestamp as ts,  -- UINTEGER: 4-byte min/max states; differences are taken as BIGINT
        is_organic,
        played_ratio_pct,
        track_length_seconds
    from {{ ref('stg_listens') }}
    where {{ before_cutoff('timestamp', latest_end) }}
),

per_pair as (
    select
        uid,
        item_id,
        {{ listen_aggregates(latest_end, latest_end) | indent(4) }}
        {%- for f in earlier %},
        -- fold {{ f.fold }}'s windows, read only for pairs with every listen before its cut-off
        {%- for w in windows %}
        count(*) filter (where ts >= {{ [f.history_end_ts | int - w | int * 86400, 0] | max }}) as listens_{{ w }}d_{{ f.fold_index }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        {%- endfor %}
    from listens
    group by uid, item_id
),
{%- if earlier %}

relistened as (
    -- for each earlier fold, the pairs listened to at or after its cut-off, aggregated again over
    -- their listens before it
    select
        cut.fold,
        uid,
        item_id,
        cut.history_end_ts,
        {{ listen_aggregates('cut.history_end_ts', latest_end, 'cut.decay_rescale') | indent(4) }}
    from listens
    join (
        -- the pairs with a listen at or after the earliest cut-off, and their last one
        select uid, item_id, max(ts) as last_ts
        from listens
        where not ({{ before_cutoff('ts', (earlier | first).history_end_ts) }})
        group by uid, item_id
    ) as later using (uid, item_id)
    join cut_offs as cut
        on not ({{ before_cutoff('later.last_ts', 'cut.history_end_ts') }})
        and {{ before_cutoff('ts', 'cut.history_end_ts') }}
    group by cut.fold, cut.history_end_ts, cut.decay_rescale, uid, item_id
),
{%- endif %}

per_fold as (
    -- every pair in each fold whose listens all come before the fold's cut-off (all of them in
    -- the latest fold), then the others from relistened
    select
        cut.fold,
        p.uid,
        p.item_id,
        cut.history_end_ts,
        {%- for c in columns %}
        {%- if earlier and c in window_columns %}
        case cut.fold_position
            {%- for f in earlier %}
            when {{ loop.index0 }} then {{ c }}_{{ f.fold_index }}
            {%- endfor %}
            else {{ c }}
        end as {{ c }}
        {%- elif c in decayed_columns %}
        {{ c }} * cut.decay_rescale as {{ c }}
        {%- else %}
        {{ c }}
        {%- endif %}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from per_pair as p
    cross join cut_offs as cut
    where {{ before_cutoff('p.last_listen_ts', 'cut.history_end_ts') }}
    {%- if earlier %}

    union all

    select fold, uid, item_id, history_end_ts, {{ columns | join(', ') }}
    from relistened
    {%- endif %}
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
