with

source as (
    select * from {{ source('yambda', 'unlikes') }}
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
