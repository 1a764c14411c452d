{#- Share of organic events per key and event type, from the per-pair counts of each fold. -#}
{% macro organic_ratios_by(key, counts_relation, mapping_relation=none) %}
with

counts as (
    select c.fold, {{ 'm.' if mapping_relation is not none else 'c.' }}{{ key }}, c.event_type, c.events, c.organic_events
    from {{ counts_relation }} as c
    {%- if mapping_relation is not none %}
    inner join {{ mapping_relation }} as m on c.item_id = m.item_id
    where m.{{ key }} is not null
    {%- endif %}
),

ratios as (
    select
        fold,
        {{ key }},
        event_type,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        cast(sum(organic_events) as {{ dbt.type_bigint() }}) as organic_events,
        {{ safe_ratio('sum(organic_events)', 'sum(events)') }} as organic_ratio
    from counts
    group by fold, {{ key }}, event_type
)

select * from ratios
{% endmacro %}

{#- Pivot of an organic ratio mart into <prefix>_organic_<type>_ratio columns, one row per key. -#}
{% macro organic_ratio_columns(prefix) -%}
    {%- for t in ['listen', 'like', 'dislike'] %}
        max(case when event_type = '{{ t }}' then organic_ratio end) as {{ prefix }}_organic_{{ t }}_ratio,
    {%- endfor %}
        {{ safe_ratio('sum(organic_events)', 'sum(events)') }} as {{ prefix }}_organic_ratio
{%- endmacro %}
