{#- Column types of the Yambda files. DuckDB keeps the files' unsigned types; other adapters
    (dbt-spark for 500m/5b) get the nearest signed type that holds every value. -#}

{% macro type_uint32() %}{{ return(adapter.dispatch('type_uint32', 'recsys')()) }}{% endmacro %}
{% macro duckdb__type_uint32() %}uinteger{% endmacro %}
{% macro default__type_uint32() %}bigint{% endmacro %}

{% macro type_uint16() %}{{ return(adapter.dispatch('type_uint16', 'recsys')()) }}{% endmacro %}
{% macro duckdb__type_uint16() %}usmallint{% endmacro %}
{% macro default__type_uint16() %}integer{% endmacro %}

{% macro type_uint8() %}{{ return(adapter.dispatch('type_uint8', 'recsys')()) }}{% endmacro %}
{% macro duckdb__type_uint8() %}utinyint{% endmacro %}
{% macro default__type_uint8() %}smallint{% endmacro %}

{% macro type_float_list() %}{{ return(adapter.dispatch('type_float_list', 'recsys')()) }}{% endmacro %}
{% macro duckdb__type_float_list() %}float[]{% endmacro %}
{% macro default__type_float_list() %}array<float>{% endmacro %}

{#- 64-bit float: ratios the ranker reads (dbt.type_float() is 32-bit FLOAT on DuckDB). -#}
{% macro type_float64() %}{{ return(adapter.dispatch('type_float64', 'recsys')()) }}{% endmacro %}
{% macro duckdb__type_float64() %}double{% endmacro %}
{% macro default__type_float64() %}double{% endmacro %}
