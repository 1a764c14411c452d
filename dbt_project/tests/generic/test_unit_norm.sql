{#- Every list in `column_name` has L2 norm 1 (within `tolerance`): what cosine features assume. -#}
{% test unit_norm(model, column_name, tolerance=0.001) %}

select {{ column_name }}
from {{ model }}
where abs(sqrt({{ vector_dot(column_name, column_name) }}) - 1) > {{ tolerance }}

{% endtest %}
