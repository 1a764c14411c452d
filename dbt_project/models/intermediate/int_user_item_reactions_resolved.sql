{#- Likes, dislikes and their removals before each fold's cut-off, per (fold, uid, item_id), with
    the state at the cut-off: the last action wins. Likes/unlikes drive is_liked and
    dislikes/undislikes drive is_disliked, independently. Two actions of one pair at the same
    timestamp resolve by action_order: the removal (unlike, undislike) counts as the later one,
    since a like must exist before it can be removed. Encoded portably as
    max(timestamp * 10 + action_order); the last digit of the max names the winning action. -#}
with

reactions as (
    select uid, item_id, timestamp, is_organic, 'like' as event_type, 'like' as state, 1 as action_order
    from {{ ref('stg_likes') }}
    union all
    select uid, item_id, timestamp, is_organic, 'unlike', 'like', 2
    from {{ ref('stg_unlikes') }}
    union all
    select uid, item_id, timestamp, is_organic, 'dislike', 'dislike', 1
    from {{ ref('stg_dislikes') }}
    union all
    select uid, item_id, timestamp, is_organic, 'undislike', 'dislike', 2
    from {{ ref('stg_undislikes') }}
),

reactions_before_cutoff as (
    select
        f.fold,
        f.history_end_ts,
        r.*,
        cast(r.timestamp as {{ dbt.type_bigint() }}) * 10 + r.action_order as action_key
    from reactions as r
    inner join {{ ref('folds') }} as f
        on {{ before_cutoff('r.timestamp', 'f.history_end_ts') }}
),

aggregated as (
    select
        fold,
        uid,
        item_id,
        max(history_end_ts) as history_end_ts,
        {%- for t in ['like', 'unlike', 'dislike', 'undislike'] %}
        count(*) filter (where event_type = '{{ t }}') as {{ t }}_events,
        count(*) filter (where event_type = '{{ t }}' and is_organic = 1) as organic_{{ t }}_events,
        {%- endfor %}
        min(case when event_type = 'like' then timestamp end) as first_like_ts,
        max(case when event_type = 'like' then timestamp end) as last_like_ts,
        sum(case when event_type = 'like' then {{ decay_weight('timestamp', 'history_end_ts') }} else 0 end)
            as decayed_like_events,
        min(timestamp) as first_reaction_ts,
        max(timestamp) as last_reaction_ts,
        case when mod(max(case when state = 'like' then action_key end), 10) = 1 then 1 else 0 end
            as is_liked,
        case when mod(max(case when state = 'dislike' then action_key end), 10) = 1 then 1 else 0 end
            as is_disliked
    from reactions_before_cutoff
    group by fold, uid, item_id
)

select * from aggregated
