-- History length quantiles: how long users' histories are before each fold's cut-off, per signal
-- (listens, Listen+, likes, dislikes), as in the paper's per-user median / p90 / p95 table.
--
-- Reads: user_features (dbt mart; one row per user with any event before the cut-off).
-- Grain: fold, signal -> users, p50, p90, p95, max.
-- Parameters: none. Example: duckdb warehouse/recsys.duckdb < sql/analysis/history_length_quantiles.sql
with

history as (
    select fold, 'listens' as signal, user_listen_events as events from user_features
    union all
    select fold, 'listen_plus', user_listen_plus_events from user_features
    union all
    select fold, 'likes', user_like_events from user_features
    union all
    select fold, 'dislikes', user_dislike_events from user_features
)

select
    fold,
    signal,
    count(*) as users,
    quantile_disc(events, 0.5) as p50,
    quantile_disc(events, 0.9) as p90,
    quantile_disc(events, 0.95) as p95,
    max(events) as max
from history
group by fold, signal
order by fold, signal;
