{#- Embedding maths behind small macros: DuckDB list functions here; another adapter (dbt-spark)
    needs its own `<adapter>__` version (e.g. with zip_with/aggregate); none is shipped yet. -#}

{% macro vector_cosine(a, b) %}{{ return(adapter.dispatch('vector_cosine', 'recsys')(a, b)) }}{% endmacro %}
{% macro duckdb__vector_cosine(a, b) -%}
    list_cosine_similarity({{ a }}, {{ b }})
{%- endmacro %}
{% macro default__vector_cosine(a, b) %}
    {{ exceptions.raise_compiler_error("vector_cosine has no implementation for adapter " ~ adapter.type()) }}
{% endmacro %}

{#- Aggregate: element-wise mean of the float lists in `vec` over the group (all of equal length).
    `order_by` fixes the summation order, so the float result is the same on every build. -#}
{% macro vector_mean_agg(vec, order_by) %}{{ return(adapter.dispatch('vector_mean_agg', 'recsys')(vec, order_by)) }}{% endmacro %}
{% macro duckdb__vector_mean_agg(vec, order_by) -%}
    list_transform(
        list_reduce(list({{ vec }} order by {{ order_by }}), (acc, nxt) -> [acc[i] + nxt[i] for i in range(1, len(acc) + 1)]),
        s -> cast(s / count({{ vec }}) as float)
    )
{%- endmacro %}
{% macro default__vector_mean_agg(vec, order_by) %}
    {{ exceptions.raise_compiler_error("vector_mean_agg has no implementation for adapter " ~ adapter.type()) }}
{% endmacro %}

{% macro vector_dot(a, b) %}{{ return(adapter.dispatch('vector_dot', 'recsys')(a, b)) }}{% endmacro %}
{% macro duckdb__vector_dot(a, b) -%}
    list_dot_product({{ a }}, {{ b }})
{%- endmacro %}
{% macro default__vector_dot(a, b) %}
    {{ exceptions.raise_compiler_error("vector_dot has no implementation for adapter " ~ adapter.type()) }}
{% endmacro %}
