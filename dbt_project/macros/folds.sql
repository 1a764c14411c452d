{#- Fold k (0 = var test_fold, 1 = var val_fold, k >= 2 = <val_fold>_<k>) sits one target window plus one gap before fold
    k - 1. Fold 0's window ends after last_timestamp (inclusive); fold k's ends at fold k-1's
    history cut-off, so the folds' target windows tile the end of the log. -#}

{% macro fold_name(k) -%}
    {%- if k == 0 -%}{{ var('test_fold') }}{%- elif k == 1 -%}{{ var('val_fold') }}
    {%- else -%}{{ var('val_fold') }}_{{ k }}{%- endif -%}
{%- endmacro %}

{% macro fold_rows() %}
    {%- set last = var('last_timestamp') | int -%}
    {%- set window = var('target_window_seconds') | int -%}
    {%- set gap = var('gap_seconds') | int -%}
    {%- set n = var('n_folds') | int -%}
    {%- if n < 1 -%}
        {{ exceptions.raise_compiler_error("var n_folds must be >= 1 (got " ~ n ~ ")") }}
    {%- endif -%}
    {%- set rows = [] -%}
    {%- for k in range(n) -%}
        {%- set target_start = last - window - k * (window + gap) -%}
        {%- set target_end = last + 1 if k == 0 else target_start + window -%}
        {%- do rows.append({
            'fold': fold_name(k), 'fold_index': k,
            'history_end_ts': target_start - gap,
            'target_start_ts': target_start,
            'target_end_ts': target_end}) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}
