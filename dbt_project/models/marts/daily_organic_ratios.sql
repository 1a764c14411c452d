{#- Per day of the log (day 0 starts at timestamp 0) and event type: events and organic share.
    Descriptive (whole log, every fold's future included): never join it into features. -#}
with

events as (
    {%- for t in ['listens', 'likes', 'dislikes', 'unlikes', 'undislikes'] %}
    select '{{ t[:-1] }}' as event_type, timestamp, is_organic from {{ ref('stg_' ~ t) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

daily as (
    select
        {{ day_of('timestamp') }} as day,
        event_type,
        count(*) as events,
        cast(sum(cast(is_organic as {{ dbt.type_int() }})) as {{ dbt.type_bigint() }}) as organic_events,
        {{ safe_ratio('sum(cast(is_organic as ' ~ dbt.type_int() ~ '))', 'count(*)') }} as organic_ratio
    from events
    group by 1, 2
)

select * from daily
