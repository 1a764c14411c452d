with

source as (
    select * from {{ source('yambda_root', 'album_item_mapping') }}
),

renamed as (
    select
        cast(album_id as {{ type_uint32() }}) as album_id,
        cast(item_id as {{ type_uint32() }}) as item_id
    from source
)

select * from renamed
