{#- One row per item in either mapping file: its artist and album. An item mapped to several
    artists (or albums) keeps the smallest id, so joins on item_id never multiply rows. -#}
with

artists as (
    select item_id, min(artist_id) as artist_id
    from {{ ref('stg_artist_item_mapping') }}
    group by item_id
),

albums as (
    select item_id, min(album_id) as album_id
    from {{ ref('stg_album_item_mapping') }}
    group by item_id
),

mapped as (
    select
        coalesce(ar.item_id, al.item_id) as item_id,
        ar.artist_id,
        al.album_id
    from artists as ar
    full outer join albums as al on ar.item_id = al.item_id
)

select * from mapped
