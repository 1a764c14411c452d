{{ config(materialized='view') }}
{#- Target events of each fold: Listen+ (played_ratio_pct >= listen_plus_threshold) and likes with
    target_start_ts <= timestamp < target_end_ts. -#}
with

listen_plus as (
    select uid, item_id, timestamp, is_organic, 'listen_plus' as target
    from {{ ref('stg_listens') }}
    where played_ratio_pct >= {{ var('listen_plus_threshold') | int }}
),

likes as (
    select uid, item_id, timestamp, is_organic, 'like' as target
    from {{ ref('stg_likes') }}
),

events_in_window as (
    select f.fold, e.target, e.uid, e.item_id, e.timestamp, e.is_organic
    from (select * from listen_plus union all select * from likes) as e
    inner join {{ ref('folds') }} as f
        on e.timestamp >= f.target_start_ts and e.timestamp < f.target_end_ts
)

select * from events_in_window
