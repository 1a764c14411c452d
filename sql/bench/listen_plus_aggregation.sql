-- Purpose: the Listen+ aggregation per (uid, item_id) before a cut-off, straight from the parquet
--   file: the benchmark's DuckDB side of the "pandas groupby vs SQL" comparison. Same definition as
--   the dbt Listen+ training aggregates: listens with played_ratio_pct >= $threshold and
--   timestamp < $cutoff, counted, with the last such timestamp.
-- Grain: one row per (uid, item_id) with at least one Listen+ event before the cut-off.
-- Parameters: $path VARCHAR (listens.parquet), $cutoff UINTEGER, $threshold USMALLINT
select
    uid,
    item_id,
    count(*) as listen_plus_events,
    max("timestamp") as last_listen_plus_ts
from read_parquet($path)
where "timestamp" < $cutoff
    and played_ratio_pct >= $threshold
group by uid, item_id
