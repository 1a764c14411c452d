with

source as (
    select * from {{ source('yambda_root', 'artist_item_mapping') }}
),

renamed as (
    select
        cast(artist_id as {{ type_uint32() }}) as artist_id,
        cast(item_id as {{ type_uint32() }}) as item_id
    from source
)

select * from renamed
