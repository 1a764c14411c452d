{#- The next-song task of each fold's target window (var test_fold and var val_fold): every
    listening session of a user with history before the cut-off that has at least two listens in
    the window; its last listen there is the answer, the listens before it (in order) the query.
    Listens of a session before the window's start are not part of the query. -#}
with

window_listens as (
    select f.fold, s.uid, s.session, s.position, s.item_id
    from {{ ref('listening_sessions') }} as s
    inner join {{ ref('folds') }} as f
        on s.timestamp >= f.target_start_ts and s.timestamp < f.target_end_ts
    inner join {{ ref('user_features') }} as u
        on u.fold = f.fold and u.uid = s.uid
    where f.fold in ('{{ var("test_fold") }}', '{{ var("val_fold") }}')
),

counted as (
    select
        *,
        row_number() over (partition by fold, uid, session order by position desc) as from_end,
        count(*) over (partition by fold, uid, session) as listens
    from window_listens
),

queries as (
    select
        fold,
        uid,
        session,
        list(item_id order by position) filter (where from_end > 1) as query_items,
        max(case when from_end = 1 then item_id end) as answer_item
    from counted
    where listens >= 2
    group by fold, uid, session
)

select * from queries
