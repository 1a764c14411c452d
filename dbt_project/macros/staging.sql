{#- The staging shape shared by likes, dislikes, unlikes and undislikes: one source file, the four
    reaction columns cast to the public dtypes. Each stg_<file> model is one call. -#}
{% macro stage_reaction_events(source_name) %}
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
    from source
)

select * from renamed
{% endmacro %}
