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

{#- source() with an absolute file path: a view stores the path of the parquet file it reads, and
    a relative one (the default data_dir, ../data/yambda, when dbt runs by hand inside
    dbt_project/) would resolve against whatever folder a later reader runs from. A relative
    external location is taken relative to the project folder, as dbt read it. -#}
{% macro source() %}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {%- set location = relation.external if target.type == 'duckdb' else none -%}
    {%- set project_dir = invocation_args_dict.get('project_dir') or '' -%}
    {%- if location and location.startswith("'") and not location.startswith("'/")
          and project_dir.startswith('/') -%}
        {%- do return(relation.incorporate(external="'" ~ project_dir ~ "/" ~ location[1:])) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
