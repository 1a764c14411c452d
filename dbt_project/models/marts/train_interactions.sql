{#- What the candidate generators fit on: per fold, target and (uid, item_id), the history before
    the cut-off. Rows: pairs with >= 1 target-type event (Listen+ for listen_plus, like for like)
    before the cut-off, or disliked at the cut-off (target_events = 0 then). -#}
with

history as (
    select * from {{ ref('int_user_item_history_joined') }}
),

listen_plus_rows as (
    select
        fold, 'listen_plus' as target, uid, item_id,
        listen_plus_events as target_events,
        decayed_listen_plus_events as decayed_target_events,
        first_listen_plus_ts as first_target_ts,
        last_listen_plus_ts as last_target_ts,
        listen_events, listen_plus_events, is_liked, is_disliked
    from history
    where listen_plus_events > 0 or is_disliked = 1
),

like_rows as (
    select
        fold, 'like' as target, uid, item_id,
        like_events as target_events,
        decayed_like_events as decayed_target_events,
        first_like_ts as first_target_ts,
        last_like_ts as last_target_ts,
        listen_events, listen_plus_events, is_liked, is_disliked
    from history
    where like_events > 0 or is_disliked = 1
),

both_targets as (
    select * from listen_plus_rows
    union all
    select * from like_rows
),

typed as (
    select
        fold,
        target,
        uid,
        item_id,
        cast(target_events as {{ type_uint32() }}) as target_events,
        cast(decayed_target_events as {{ dbt.type_float() }}) as decayed_target_events,
        cast(first_target_ts as {{ type_uint32() }}) as first_target_ts,
        cast(last_target_ts as {{ type_uint32() }}) as last_target_ts,
        cast(listen_events as {{ type_uint32() }}) as listen_events,
        cast(listen_plus_events as {{ type_uint32() }}) as listen_plus_events,
        cast(is_liked as {{ type_uint8() }}) as is_liked,
        cast(is_disliked as {{ type_uint8() }}) as is_disliked
    from both_targets
)

select * from typed
