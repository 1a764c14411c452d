{#- ` filter (where c1 and c2 ...)` over the conditions that are not none, or nothing when none
    is left: `count(*){{ filter_where([a, b]) }}` is a plain count when both are none. -#}
{% macro filter_where(conditions) -%}
    {%- set kept = conditions | reject('none') | list -%}
    {%- if kept %} filter (where {{ kept | join(' and ') }}){% endif -%}
{%- endmacro %}
