{#- The combination of `columns` is unique (and never null): the grain of a model. -#}
{% test unique_key(model, columns) %}

select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    {%- for c in columns %} or {{ c }} is null{% endfor %}

{% endtest %}
