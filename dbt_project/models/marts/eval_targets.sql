{#- The evaluation protocol's targets: per fold and target type, the distinct target items of every
    evaluated user, i.e. a user with >= 1 event of that target type before the cut-off and
    >= 1 target event in the fold's window. is_organic is that of the item's first target event
    (two first events at the same second: the recommendation-driven one, is_organic = 0).
    is_repeat = 1 when the user had a listen of the item before the cut-off (the `repeat` subset of
    the metrics; the rest is `discovery`). -#}
with

target_events as (
    select * from {{ ref('int_target_events') }}
),

users_with_history as (
    select distinct fold, target, uid
    from {{ ref('train_interactions') }}
    where target_events > 0
),

listened_before as (
    select fold, uid, item_id
    from {{ ref('int_user_item_listens_aggregated') }}
    where listen_events > 0
),

targets_per_item as (
    select
        fold,
        target,
        uid,
        item_id,
        count(*) as target_events,
        min(timestamp) as first_target_ts,
        mod(min(cast(timestamp as {{ dbt.type_bigint() }}) * 10 + is_organic), 10) as first_is_organic
    from target_events
    group by fold, target, uid, item_id
),

evaluated as (
    select
        t.fold,
        t.target,
        t.uid,
        t.item_id,
        cast(t.first_is_organic as {{ type_uint8() }}) as is_organic,
        cast(t.target_events as {{ type_uint32() }}) as target_events,
        cast(t.first_target_ts as {{ type_uint32() }}) as first_target_ts,
        cast(case when l.uid is null then 0 else 1 end as {{ type_uint8() }}) as is_repeat
    from targets_per_item as t
    inner join users_with_history as h
        on t.fold = h.fold and t.target = h.target and t.uid = h.uid
    left join listened_before as l
        on t.fold = l.fold and t.uid = l.uid and t.item_id = l.item_id
)

select * from evaluated
