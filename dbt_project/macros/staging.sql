{#- The staging shape shared by every event file: one source file, the four event columns cast to
    the public dtypes, plus the file's own columns (`extra`: (column, SQL type) pairs,
    e.g. listens' played_ratio_pct). Each stg_<file> model is one call. -#}
{% macro stage_events(source_name, extra=[]) %}
with

source as (
    select * from {{ source('yambda', source_name) }}
),

renamed as (
    select
        cast(uid as {{ type_uint32() }}) as uid,
        cast(timestamp as {{ type_uint32() }}) as timestamp,
        cast(item_id as {{ type_uint32() }}) as item_id,
        cast(is_organic as {{ type_uint8() }}) as is_organic
        {%- for column, dtype in extra %},
        cast({{ column }} as {{ dtype }}) as {{ column }}
        {%- endfor %}
    from source
)

select * from renamed
{% endmacro %}
