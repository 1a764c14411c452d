{#- User affinity to an item group (artist or album), per fold: the user's listens of the group's
    items before the cut-off and their share of all the user's listens. -#}
{% macro user_group_affinity(group_key, prefix) %}
with

history as (
    select h.*, m.{{ group_key }}
    from {{ ref('int_user_item_history_joined') }} as h
    inner join {{ ref('int_items_mapped') }} as m on h.item_id = m.item_id
    where m.{{ group_key }} is not null
),

per_group as (
    select
        fold,
        uid,
        {{ group_key }},
        cast(sum(listen_events) as {{ dbt.type_bigint() }}) as {{ prefix }}_listen_events,
        cast(sum(listen_plus_events) as {{ dbt.type_bigint() }}) as {{ prefix }}_listen_plus_events,
        sum(decayed_listen_events) as {{ prefix }}_decayed_listen_events,
        cast(sum(case when listen_events > 0 then 1 else 0 end) as {{ dbt.type_bigint() }}) as {{ prefix }}_distinct_items,
        cast(sum(is_liked) as {{ dbt.type_bigint() }}) as {{ prefix }}_liked_items,
        cast(sum(is_disliked) as {{ dbt.type_bigint() }}) as {{ prefix }}_disliked_items
    from history
    group by fold, uid, {{ group_key }}
),

user_totals as (
    select fold, uid, sum({{ prefix }}_listen_events) as user_listen_events
    from per_group
    group by fold, uid
),

with_share as (
    select
        g.*,
        {{ safe_ratio('g.' ~ prefix ~ '_listen_events', 't.user_listen_events') }} as {{ prefix }}_listen_share
    from per_group as g
    inner join user_totals as t on g.fold = t.fold and g.uid = t.uid
)

select * from with_share
{% endmacro %}
