-- Item long tail: how concentrated listening is before the test cut-off. Items are sorted by
-- listens; each bucket says how many items hold that slice of the catalogue and what share of all
-- listens they get (the head is tiny, a large share of items has only 1-2 events).
--
-- Reads: item_features (dbt mart, fold 'test').
-- Grain: popularity bucket -> items, listens, share of listens, cumulative share.
-- Parameters: none. Example: duckdb warehouse/recsys.duckdb < sql/analysis/item_long_tail.sql
with

ranked as (
    select
        item_listen_events as listens,
        row_number() over (order by item_listen_events desc, item_id) as popularity_rank,
        count(*) over () as items
    from item_features
    where fold = 'test'
),

bucketed as (
    select
        case
            when popularity_rank <= ceil(items * 0.001) then '1: top 0.1%'
            when popularity_rank <= ceil(items * 0.01) then '2: top 1%'
            when popularity_rank <= ceil(items * 0.1) then '3: top 10%'
            when listens > 2 then '4: rest with > 2 listens'
            else '5: 0-2 listens'
        end as bucket,
        listens
    from ranked
)

select
    bucket,
    count(*) as items,
    cast(sum(listens) as bigint) as listens,
    round(sum(listens) / sum(sum(listens)) over (), 4) as listen_share,
    round(sum(sum(listens)) over (order by bucket) / sum(sum(listens)) over (), 4) as cumulative_share
from bucketed
group by bucket
order by bucket;
