-- Purpose: how much signal simple baselines find in one fold (a realism check of generated data,
--          also meaningful on real data): Recall@$k over the distinct Listen+ target items of
--          each evaluated user, for MostPop (all-history listen+ counts), DecayPop (counts
--          weighted by 0.5^(age / $half_life_hours)) and the user's own history (decayed counts).
-- Grain:   one row.
-- Params:  $listens, $multi_event  parquet paths; $history_end, $target_start, $target_end;
--          $listen_plus_threshold; $half_life_hours; $k.
with history as (
    select uid, item_id, timestamp
    from read_parquet($listens)
    where timestamp < $history_end and played_ratio_pct >= $listen_plus_threshold
),

targets as (
    select distinct uid, item_id
    from read_parquet($listens)
    where timestamp >= $target_start and timestamp < $target_end
        and played_ratio_pct >= $listen_plus_threshold
        and uid in (select uid from read_parquet($multi_event) where timestamp < $history_end)
),

target_sizes as (
    select uid, count(*) as n_targets from targets group by uid
),

decayed as (
    select uid, item_id, pow(0.5, ($history_end - timestamp) / (3600.0 * $half_life_hours)) as weight
    from history
),

most_pop as (
    select item_id from history group by item_id order by count(*) desc, item_id limit $k
),

decay_pop as (
    select item_id from decayed group by item_id order by sum(weight) desc, item_id limit $k
),

user_history as (
    select uid, item_id
    from (
        select
            uid, item_id,
            row_number() over (partition by uid order by sum(weight) desc, item_id) as rank
        from decayed
        where uid in (select uid from target_sizes)
        group by uid, item_id
    )
    where rank <= $k
),

hits as (
    select 'most_pop' as model, t.uid, count(*) as hits
    from targets as t where t.item_id in (select item_id from most_pop) group by t.uid
    union all
    select 'decay_pop', t.uid, count(*)
    from targets as t where t.item_id in (select item_id from decay_pop) group by t.uid
    union all
    select 'history', t.uid, count(*)
    from targets as t join user_history as h on h.uid = t.uid and h.item_id = t.item_id
    group by t.uid
),

recall as (
    select model, sum(hits / n_targets) / (select count(*) from target_sizes) as recall
    from hits join target_sizes using (uid)
    group by model
)

select
    max(recall) filter (where model = 'most_pop') as most_pop_recall,
    max(recall) filter (where model = 'decay_pop') as decay_pop_recall,
    max(recall) filter (where model = 'history') as history_recall
from recall
