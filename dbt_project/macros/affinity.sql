{#- User affinity to an item group (artist or album), per fold: the user's listens of the group's
    items before the cut-off and their share of all the user's listens. -#}
{% macro user_group_affinity(group_key, prefix) %}
with

history as (
    -- only the columns aggregated below (the joined table is 30 columns wide)
    select
        h.fold, h.uid, m.{{ group_key }}, h.listen_events, h.listen_plus_events,
        h.decayed_listen_events, h.is_liked, h.is_disliked
    from {{ ref('int_user_item_history_joined') }} as h
    inner join {{ ref('int_items_mapped') }} as m on h.item_id = m.item_id
    where m.{{ group_key }} is not null
),

per_group as (
    -- count(*) filter: BIGINT counters (a sum of 0/1 flags would accumulate in HUGEINT)
    select
        fold,
        uid,
        {{ group_key }},
        cast(sum(listen_events) as {{ dbt.type_bigint() }}) as {{ prefix }}_listen_events,
        cast(sum(listen_plus_events) as {{ dbt.type_bigint() }}) as {{ prefix }}_listen_plus_events,
        sum(decayed_listen_events) as {{ prefix }}_decayed_listen_events,
        count(*) filter (where listen_events > 0) as {{ prefix }}_distinct_items,
        count(*) filter (where is_liked = 1) as {{ prefix }}_liked_items,
        count(*) filter (where is_disliked = 1) as {{ prefix }}_disliked_items
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
