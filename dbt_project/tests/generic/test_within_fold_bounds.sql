{#- Point-in-time rule as a generic test: every value of `column_name` (a timestamp) lies in the
    fold's [lower, upper) bounds, named by columns of the folds mart. For features use
    upper='history_end_ts' (nothing at or after the cut-off); for targets lower='target_start_ts',
    upper='target_end_ts'. Rows where the column is null pass. -#}
{% test within_fold_bounds(model, column_name, upper='history_end_ts', lower=none, fold_column='fold') %}

select m.{{ fold_column }} as fold, m.{{ column_name }} as value_out_of_bounds
from {{ model }} as m
left join {{ ref('folds') }} as f on m.{{ fold_column }} = f.fold
where m.{{ column_name }} is not null
  and (
    f.fold is null
    or m.{{ column_name }} >= f.{{ upper }}
    {%- if lower is not none %}
    or m.{{ column_name }} < f.{{ lower }}
    {%- endif %}
  )

{% endtest %}
