-- Purpose: size of one event file: events, users, items, organic share and the per-user history
--          length distribution (median / p90 / p95 over users with at least one such event).
-- Grain:   one row.
-- Params:  $path  parquet file of one event type (listens, likes, dislikes, unlikes, undislikes).
with events as (
    select uid, item_id, is_organic from read_parquet($path)
),

history_lengths as (
    select uid, count(*) as events from events group by uid
)

select
    (select count(*) from events) as events,
    (select count(distinct uid) from events) as users,
    (select count(distinct item_id) from events) as items,
    (select avg(is_organic) from events) as organic_share,
    median(events) as history_median,
    quantile_cont(events, 0.9) as history_p90,
    quantile_cont(events, 0.95) as history_p95
from history_lengths
