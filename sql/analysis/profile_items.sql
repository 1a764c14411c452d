-- Purpose: the item side: items with events, long tail, grouping by artist/album, embeddings.
-- Grain:   one row.
-- Params:  $multi_event, $embeddings, $artists, $albums  parquet paths.
with item_events as (
    select item_id, count(*) as events from read_parquet($multi_event) group by item_id
),

embedded as (
    select distinct item_id from read_parquet($embeddings)
),

artists as (
    select item_id, artist_id from read_parquet($artists)
),

albums as (
    select item_id, album_id from read_parquet($albums)
)

select
    count(*) as items,
    avg((events <= 2)::int) as items_with_1_2_events_share,
    avg((item_id in (select item_id from embedded))::int) as embedding_coverage,
    (select count(*) from embedded) as catalogue_embeddings,
    (select count(distinct item_id) from artists) as catalogue_items,
    (select count(distinct artist_id) from artists where item_id in (select item_id from item_events))
        as artists,
    (select count(distinct album_id) from albums where item_id in (select item_id from item_events))
        as albums
from item_events
