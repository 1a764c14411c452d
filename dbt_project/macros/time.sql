{#- Time arithmetic on UINTEGER second timestamps, portable (no date types involved). -#}

{#- The point-in-time rule, in one place: an event at `ts` may feed a feature of a fold whose
    history ends at `history_end` (exclusive). var leakage_test_shift_seconds exists only so the
    leakage test can prove that a feature looking past the cut-off is caught; it is 0. -#}
{% macro before_cutoff(ts, history_end) -%}
    {%- set shift = var('leakage_test_shift_seconds') | int -%}
    {{ ts }} < {{ history_end }}{% if shift != 0 %} + {{ shift }}{% endif %}
{%- endmacro %}

{#- Seconds from `ts` to `until` as a signed integer (UINTEGER subtraction would wrap). -#}
{% macro seconds_between(ts, until) -%}
    (cast({{ until }} as {{ dbt.type_bigint() }}) - cast({{ ts }} as {{ dbt.type_bigint() }}))
{%- endmacro %}

{% macro days_between(ts, until) -%}
    ({{ seconds_between(ts, until) }} / 86400.0)
{%- endmacro %}

{#- Exponential time decay: 1 for an event at the cut-off, 0.5 one half-life earlier. -#}
{% macro decay_weight(ts, until) -%}
    power(0.5, {{ seconds_between(ts, until) }} / ({{ var('decay_half_life_days') }} * 86400.0))
{%- endmacro %}

{#- 1 if `ts` lies within the last `days` days before `until`, else 0. -#}
{% macro in_last_days(ts, until, days) -%}
    case when {{ seconds_between(ts, until) }} <= {{ days | int * 86400 }} then 1 else 0 end
{%- endmacro %}

{#- Day number (0 = first day of the log) of a second timestamp. -#}
{% macro day_of(ts) -%}
    cast(floor({{ ts }} / 86400) as {{ dbt.type_int() }})
{%- endmacro %}

{#- Ratio that is null (not an error) when the denominator is 0. -#}
{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ dbt.type_float() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
