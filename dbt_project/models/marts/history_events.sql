{{ config(materialized='view') }}
{#- The target-type events the candidate generators fit on, one row per event of the whole log:
    Listen+ listens (played_ratio_pct >= var listen_plus_threshold) and likes. Python keeps a
    fold's history with `timestamp < history_end_ts`. A view: a copy of every event would double
    the warehouse, and Python reads it once per target. -#}
with

listen_plus as (
    select 'listen_plus' as target, uid, item_id, timestamp
    from {{ ref('stg_listens') }}
    where played_ratio_pct >= {{ var('listen_plus_threshold') | int }}
),

likes as (
    select 'like' as target, uid, item_id, timestamp
    from {{ ref('stg_likes') }}
),

history_events as (
    select * from listen_plus
    union all
    select * from likes
)

select * from history_events
