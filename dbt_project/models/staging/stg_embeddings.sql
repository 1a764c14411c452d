with

source as (
    select * from {{ source('yambda_root', 'embeddings') }}
),

renamed as (
    select
        cast(item_id as {{ type_uint32() }}) as item_id,
        cast(embed as {{ type_float_list() }}) as embed,
        cast(normalized_embed as {{ type_float_list() }}) as normalized_embed
    from source
)

select * from renamed
