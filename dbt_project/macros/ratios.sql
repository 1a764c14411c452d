{#- Ratio features of candidate_features: `numerator * scale / denominator` in 64-bit floats,
    NULL (missing for LightGBM) when the denominator is 0 or NULL. `scale` renders as a float
    literal (1.0, 7.0, 4.285714285714286): the expression, operand order and literal are the
    ones the ranker has always read, so the float32 it trains on stays bit for bit the same. -#}
{% macro ratio_feature(numerator, denominator, scale=1.0) -%}
    cast({{ numerator }} as {{ type_float64() }}) * {{ scale }} / nullif(cast({{ denominator }} as {{ type_float64() }}), 0)
{%- endmacro %}

{#- Trend of `<prefix>_<short>d` against `<prefix>_<long>d` (windows of var feature_windows_days):
    the daily rate over the last `short` days over the daily rate over the last `long` days,
    i.e. count_short * (long / short) / count_long; 1 = steady, > 1 = rising. -#}
{% macro window_trend(prefix, short_days, long_days) -%}
    {{ ratio_feature(prefix ~ '_' ~ short_days ~ 'd', prefix ~ '_' ~ long_days ~ 'd', long_days / short_days) }}
{%- endmacro %}
