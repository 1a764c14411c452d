{{ config(materialized='view') }}
{#- Listen and reaction aggregates of each (fold, uid, item_id) side by side; a pair with only
    listens or only reactions gets zeros (counts) and nulls (timestamps) for the other side.
    A view: the join of the listens table with the (fifty times smaller) reactions table is
    cheap to run again where it is read, and a stored copy of the listens table's grain was a
    third of the warehouse. -#}
with

listens as (
    select * from {{ ref('int_user_item_listens_aggregated') }}
),

reactions as (
    select * from {{ ref('int_user_item_reactions_resolved') }}
),

joined as (
    select
        coalesce(l.fold, r.fold) as fold,
        coalesce(l.uid, r.uid) as uid,
        coalesce(l.item_id, r.item_id) as item_id,
        coalesce(l.history_end_ts, r.history_end_ts) as history_end_ts,
        coalesce(l.listen_events, 0) as listen_events,
        coalesce(l.listen_plus_events, 0) as listen_plus_events,
        coalesce(l.organic_listen_events, 0) as organic_listen_events,
        coalesce(l.skip_events, 0) as skip_events,
        {%- for w in var('feature_windows_days') %}
        coalesce(l.listens_{{ w }}d, 0) as listens_{{ w }}d,
        {%- endfor %}
        l.first_listen_ts,
        l.last_listen_ts,
        l.first_listen_plus_ts,
        l.last_listen_plus_ts,
        coalesce(l.decayed_listen_events, 0) as decayed_listen_events,
        coalesce(l.decayed_listen_plus_events, 0) as decayed_listen_plus_events,
        l.sum_played_ratio_pct,
        l.track_length_seconds,
        {%- for t in ['like', 'unlike', 'dislike', 'undislike'] %}
        coalesce(r.{{ t }}_events, 0) as {{ t }}_events,
        {%- endfor %}
        r.first_like_ts,
        r.last_like_ts,
        coalesce(r.decayed_like_events, 0) as decayed_like_events,
        r.first_reaction_ts,
        r.last_reaction_ts,
        coalesce(r.is_liked, 0) as is_liked,
        coalesce(r.is_disliked, 0) as is_disliked
    from listens as l
    full outer join reactions as r
        on l.fold = r.fold and l.uid = r.uid and l.item_id = r.item_id
)

select * from joined
