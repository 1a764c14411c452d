-- Data profile for the report: history length per user in the training history.
--
-- For each fold and target, how many users have exactly `events` target events before the
-- cut-off (train_interactions), and how many of them are evaluated (have targets in the fold).
--
-- Grain: fold, target, events -> users, evaluated_users.
-- Parameters (DuckDB variables, unset = default):
--   fold  VARCHAR  only this fold  default every fold
-- Shell:  .venv/bin/duckdb warehouse/recsys.duckdb -c ".read sql/metrics/data_user_history.sql"
with user_events as (
    select fold, target, uid, sum(target_events) as events
    from train_interactions
    where target_events > 0
      and (getvariable('fold') is null or fold = getvariable('fold'))
    group by fold, target, uid
),

evaluated as (
    select distinct fold, target, uid from eval_targets
)

select
    u.fold, u.target, u.events,
    count(*) as users,
    count(e.uid) as evaluated_users
from user_events as u
left join evaluated as e on e.fold = u.fold and e.target = u.target and e.uid = u.uid
group by u.fold, u.target, u.events
order by u.fold, u.target, u.events
