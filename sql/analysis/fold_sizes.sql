-- Fold sizes: per fold and target, the boundaries, how many users are evaluated, how many distinct
-- target items they have (and the organic share of those), and how many training interactions
-- lie before the cut-off.
--
-- Reads: folds, eval_targets, train_interactions (dbt marts).
-- Grain: fold, target -> history_end_ts, target window, users, target rows, organic share,
--        train rows, train users.
-- Parameters: none. Example: duckdb warehouse/recsys.duckdb < sql/analysis/fold_sizes.sql
with

targets as (
    select
        fold,
        target,
        count(distinct uid) as evaluated_users,
        count(*) as target_items,
        round(avg(is_organic), 3) as organic_share
    from eval_targets
    group by fold, target
),

train as (
    select
        fold,
        target,
        count(*) as train_rows,
        count(distinct uid) as train_users
    from train_interactions
    where target_events > 0
    group by fold, target
)

select
    f.fold,
    t.target,
    f.history_end_ts,
    f.target_start_ts,
    f.target_end_ts,
    coalesce(t.evaluated_users, 0) as evaluated_users,
    coalesce(t.target_items, 0) as target_items,
    t.organic_share,
    coalesce(r.train_rows, 0) as train_rows,
    coalesce(r.train_users, 0) as train_users
from folds as f
inner join train as r on f.fold = r.fold
left join targets as t on r.fold = t.fold and r.target = t.target
order by f.fold_index, t.target;
