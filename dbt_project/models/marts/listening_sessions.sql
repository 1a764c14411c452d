{{ config(materialized='view') }}
{#- Every listen with its listening session: a user's listens in time order (ties by item_id)
    split where more than var session_gap_minutes pass between two listens' start times. A
    session boundary depends only on the listens before it, so a fold's history never looks past
    its cut-off. A view: one more copy of every listen would double the warehouse. -#}
{%- set gap = var('session_gap_minutes') | int * 60 -%}
with

ordered as (
    select
        uid,
        item_id,
        timestamp,
        lag(timestamp) over (partition by uid order by timestamp, item_id) as previous_ts
    from {{ ref('stg_listens') }}
),

numbered as (
    select
        uid,
        item_id,
        timestamp,
        sum(case when previous_ts is null or timestamp - previous_ts > {{ gap }} then 1 else 0 end)
            over (partition by uid order by timestamp, item_id rows unbounded preceding) as session_number
    from ordered
),

sessions as (
    select
        uid,
        cast(session_number as {{ dbt.type_int() }}) as session,
        cast(row_number() over (partition by uid, session_number order by timestamp, item_id)
             as {{ dbt.type_int() }}) as position,
        item_id,
        timestamp
    from numbered
)

select * from sessions
