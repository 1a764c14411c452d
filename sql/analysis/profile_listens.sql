-- Purpose: listening behaviour: repeats, played ratio, timestamps, popularity concentration.
-- Grain:   one row.
-- Params:  $path  listens.parquet; $listen_plus_threshold  dbt var listen_plus_threshold (50).
with listens as (
    select uid, item_id, timestamp, played_ratio_pct from read_parquet($path)
),

item_listens as (
    select item_id, count(*) as listens from listens group by item_id
),

ranked_items as (
    select listens, row_number() over (order by listens desc, item_id) as popularity_rank
    from item_listens
)

select
    1 - count(distinct (uid::ubigint << 32) | item_id) / count(*) as repeat_listen_ratio,
    avg((played_ratio_pct >= $listen_plus_threshold)::int) as listen_plus_share,
    avg((played_ratio_pct > 100)::int) as played_over_100_share,
    min(timestamp) as min_timestamp,
    max(timestamp) as max_timestamp,
    count(*) filter (where timestamp % 5 <> 0) as off_grid_timestamps,
    (
        select sum(listens) filter (where popularity_rank <= ceil(0.01 * (select count(*) from ranked_items)))
            / sum(listens)
        from ranked_items
    ) as top_1pct_items_listen_share
from listens
