{#- What the next-song model learns from: per fold (the evaluated one and val), how often a
    listen of from_item was followed by one of to_item in the same listening session, both
    listens before the fold's history cut-off. -#}
with

consecutive as (
    select
        item_id as from_item,
        lead(item_id) over (partition by uid, session order by position) as to_item,
        lead(timestamp) over (partition by uid, session order by position) as to_ts
    from {{ ref('listening_sessions') }}
),

folds as (
    select fold, history_end_ts from {{ ref('folds') }}
    where fold in ('{{ var("test_fold") }}', '{{ var("val_fold") }}')
),

transitions as (
    select
        f.fold,
        c.from_item,
        c.to_item,
        cast(count(*) as {{ dbt.type_bigint() }}) as transitions
    from consecutive as c
    inner join folds as f on c.to_ts < f.history_end_ts
    where c.to_item is not null
    group by f.fold, c.from_item, c.to_item
)

select * from transitions
