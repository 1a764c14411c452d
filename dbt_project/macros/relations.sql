{#- The source `source_relation` (a table written by Python, not by dbt: source('recsys', ...))
    if it exists; otherwise an empty relation with `columns` ({name: type}), so `dbt build`
    passes on a fresh warehouse. -#}
{% macro relation_or_empty(source_relation, columns) %}
    {%- set relation = none -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(database=source_relation.database,
                                                schema=source_relation.schema,
                                                identifier=source_relation.identifier) -%}
    {%- endif -%}
    {%- if relation is not none -%}
        select {% for col in columns %}{{ col }}{% if not loop.last %}, {% endif %}{% endfor %} from {{ relation }}
    {%- else -%}
        select
        {%- for col, type in columns.items() %}
            cast(null as {{ type }}) as {{ col }}{% if not loop.last %},{% endif %}
        {%- endfor %}
        where 1 = 0
    {%- endif -%}
{% endmacro %}

{#- Every column of `relation` except `except`, prefixed with `alias.`; like dbt_utils.star. -#}
{% macro star_except(relation, alias, except) %}
    {%- if not execute -%}{{ return('*') }}{%- endif -%}
    {%- set names = [] -%}
    {%- for col in adapter.get_columns_in_relation(relation) -%}
        {%- if col.name | lower not in except -%}{%- do names.append(alias ~ '.' ~ col.name) -%}{%- endif -%}
    {%- endfor -%}
    {%- if not names -%}{{ return(alias ~ '.*') }}{%- endif -%}
    {{ return(names | join(',\n        ')) }}
{% endmacro %}

{#- on-run-start: DuckDB threads from RECSYS_THREADS; unset keeps DuckDB's default (all cores). -#}
{% macro recsys_apply_thread_setting() %}
    {%- set threads = env_var('RECSYS_THREADS', '') -%}
    {%- if threads and target.type == 'duckdb' -%}
        set threads = {{ threads | int }}
    {%- else -%}
        select 1 as no_thread_setting
    {%- endif -%}
{% endmacro %}
