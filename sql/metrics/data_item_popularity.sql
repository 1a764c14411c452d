-- Data profile for the report: the item long tail of the training history.
--
-- For each fold and target, how many items have exactly `events` target events before the
-- cut-off (train_interactions). Sorting by events descending and accumulating `items` gives the
-- rank-popularity curve without returning one row per item.
--
-- Grain: fold, target, events -> items, total_events.
-- Parameters (DuckDB variables, unset = default):
--   fold  VARCHAR  only this fold  default every fold
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/data_item_popularity.sql"
with item_events as (
    select fold, target, item_id, sum(target_events) as events
    from train_interactions
    where target_events > 0
      and (getvariable('fold') is null or fold = getvariable('fold'))
    group by fold, target, item_id
)

select fold, target, events, count(*) as items, sum(events) as total_events
from item_events
group by fold, target, events
order by fold, target, events desc
