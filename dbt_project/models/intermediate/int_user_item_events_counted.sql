{{ config(materialized='view') }}
{#- Long format of the per-pair counts: (fold, uid, item_id, event_type, events, organic_events)
    for event types listen, like, unlike, dislike, undislike; only rows with events. -#}
with

listens as (
    select fold, uid, item_id, 'listen' as event_type,
        listen_events as events, organic_listen_events as organic_events
    from {{ ref('int_user_item_listens_aggregated') }}
),

reactions as (
    {%- for t in ['like', 'unlike', 'dislike', 'undislike'] %}
    select fold, uid, item_id, '{{ t }}' as event_type,
        {{ t }}_events as events, organic_{{ t }}_events as organic_events
    from {{ ref('int_user_item_reactions_resolved') }}
    where {{ t }}_events > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unpivoted as (
    select * from listens
    union all
    select * from reactions
)

select * from unpivoted
