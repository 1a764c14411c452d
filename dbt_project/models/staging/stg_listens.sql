with

source as (
    select * from {{ source('yambda', 'listens') }}
),

renamed as (
    select
        cast(uid as {{ type_uint32() }}) as uid,
        cast(timestamp as {{ type_uint32() }}) as timestamp,
        cast(item_id as {{ type_uint32() }}) as item_id,
        cast(is_organic as {{ type_uint8() }}) as is_organic,
        cast(played_ratio_pct as {{ type_uint16() }}) as played_ratio_pct,
        cast(track_length_seconds as {{ type_uint32() }}) as track_length_seconds
    from source
)

select * from renamed
