{#- One row per fold: the history cut-off and the target window, all from vars. -#}
with

fold_boundaries as (
    {% for row in fold_rows() %}
    select
        '{{ row.fold }}' as fold,
        {{ row.fold_index }} as fold_index,
        {{ row.history_end_ts }} as history_end_ts,
        {{ row.target_start_ts }} as target_start_ts,
        {{ row.target_end_ts }} as target_end_ts
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

typed as (
    select
        cast(fold as {{ dbt.type_string() }}) as fold,
        cast(fold_index as {{ dbt.type_int() }}) as fold_index,
        cast(history_end_ts as {{ type_uint32() }}) as history_end_ts,
        cast(target_start_ts as {{ type_uint32() }}) as target_start_ts,
        cast(target_end_ts as {{ type_uint32() }}) as target_end_ts
    from fold_boundaries
)

select * from typed
