-- Organic share by day: per day of the log and event type, how many events there were and the
-- share a user found without a recommendation (is_organic = 1). Spot trends and days where the
-- recommender drove more of the traffic.
--
-- Reads: daily_organic_ratios (dbt mart; whole log, day 0 = first day).
-- Grain: day, event_type -> events, organic_events, organic_share (rounded to 3 decimals).
-- Parameters: none. Example: duckdb warehouse/recsys.duckdb < sql/analysis/organic_share_by_day.sql
select
    day,
    event_type,
    events,
    organic_events,
    round(organic_ratio, 3) as organic_share
from daily_organic_ratios
order by day, event_type;
