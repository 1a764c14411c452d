-- Purpose: evaluability of one fold: users with history before the cut-off and >= 1 target event,
--          target pairs, and how many Listen+ target pairs repeat an item of the user's history.
-- Grain:   one row.
-- Params:  $listens, $likes, $multi_event  parquet paths;
--          $history_end (exclusive), $target_start (inclusive), $target_end (exclusive),
--          $listen_plus_threshold (played_ratio_pct >= it counts as Listen+).
with history_users as (
    select distinct uid from read_parquet($multi_event) where timestamp < $history_end
),

listen_plus_targets as (
    select distinct uid, item_id
    from read_parquet($listens)
    where timestamp >= $target_start and timestamp < $target_end
        and played_ratio_pct >= $listen_plus_threshold
        and uid in (select uid from history_users)
),

like_targets as (
    select distinct uid, item_id
    from read_parquet($likes)
    where timestamp >= $target_start and timestamp < $target_end
        and uid in (select uid from history_users)
),

listened_before as (
    select distinct uid, item_id
    from read_parquet($listens)
    where timestamp < $history_end and uid in (select uid from listen_plus_targets)
)

select
    (select count(distinct uid) from listen_plus_targets) as listen_plus_users,
    (select count(*) from listen_plus_targets) as listen_plus_pairs,
    (select count(distinct uid) from like_targets) as like_users,
    (select count(*) from like_targets) as like_pairs,
    (
        select avg((h.uid is not null)::int)
        from listen_plus_targets as t
        left join listened_before as h using (uid, item_id)
    ) as listen_plus_seen_share
