{#- ref() without the catalog name: DuckDB names a database after its file, so a view written as
    "recsys"."main"."x" breaks when the warehouse is copied or renamed; "main"."x" resolves in
    whatever file is open. -#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is not none and target.type == 'duckdb' -%}
        {%- do return(relation.include(database=False)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
