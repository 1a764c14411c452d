{#- Two partial aggregates `a` and `b` of the same group combined: `how` is least, greatest or
    sum; a null side (no event of that kind in that part) is ignored, both null stay null. -#}
{% macro combine_nullable(how, a, b) -%}
    case when {{ a }} is null then {{ b }} when {{ b }} is null then {{ a }}
        else {% if how == 'sum' %}{{ a }} + {{ b }}{% else %}{{ how }}({{ a }}, {{ b }}){% endif %} end
{%- endmacro %}
