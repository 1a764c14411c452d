{#- What the re-ranker reads: one row per candidate (fold, target, uid, item_id) proposed by any
    generator of var ranker_models in the Python-written `candidates` table (stg_candidates, long
    format; only rank <= var candidate_max_rank per generator when that var is set), with rank_<model> and
    score_<model> for every model in var candidate_models, and every point-in-time feature.
    Nulls mean "absent": a generator that did not propose the item (rank/score), no history
    for the user, item or pair, no embedding. They are not filled here; LightGBM reads them as
    missing values. The last columns are ratios of those features (macros/ratios.sql).
    When `candidates` does not exist yet the mart is empty, so `dbt build`
    passes on a fresh warehouse. The Python candidate stage rebuilds it after writing
    `candidates` with recsys.dbt_runner.build_candidate_features(settings). -#}
{%- set models = var('candidate_models') -%}
{%- set max_rank = var('candidate_max_rank') -%}
{%- set merged = var('ranker_models') -%}
{%- set keys = ['fold', 'uid', 'item_id'] -%}
with

-- var ranker_models: only the generators the ranker merges (slices of models no longer
-- configured are never read); var candidate_max_rank: each generator's top-N only (what the
-- ranker reads); null = all
candidates as (
    select * from {{ ref('stg_candidates') }}
    where true
    {%- if merged is not none %}
        and model in ({% for m in merged %}'{{ m }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- endif %}
    {%- if max_rank is not none %}
        and rank <= {{ max_rank | int }}
    {%- endif %}
),

candidates_pivoted as (
    select
        fold,
        target,
        uid,
        item_id,
        {%- for m in models %}
        min(case when model = '{{ m }}' then rank end) as rank_{{ m }},
        max(case when model = '{{ m }}' then score end) as score_{{ m }},
        {%- endfor %}
        count(*) as candidate_models
    from candidates
    group by fold, target, uid, item_id
),

with_features as (
    select
        c.*,
        {{ star_except(ref('user_features'), 'u', keys) }},
        {{ star_except(ref('item_features'), 'i', keys + ['artist_id', 'album_id']) }},
        m.artist_id,
        m.album_id,
        {{ star_except(ref('user_item_features'), 'ui', keys) }},
        {{ star_except(ref('user_artist_features'), 'ua', keys + ['artist_id']) }},
        {{ star_except(ref('user_album_features'), 'ual', keys + ['album_id']) }},
        p.profile_items as content_profile_items,
        {{ vector_cosine('e.normalized_embed', 'p.profile_embed') }} as content_cosine
    from candidates_pivoted as c
    left join {{ ref('int_items_mapped') }} as m
        on c.item_id = m.item_id
    left join {{ ref('user_features') }} as u
        on c.fold = u.fold and c.uid = u.uid
    left join {{ ref('item_features') }} as i
        on c.fold = i.fold and c.item_id = i.item_id
    left join {{ ref('user_item_features') }} as ui
        on c.fold = ui.fold and c.uid = ui.uid and c.item_id = ui.item_id
    left join {{ ref('user_artist_features') }} as ua
        on c.fold = ua.fold and c.uid = ua.uid and m.artist_id = ua.artist_id
    left join {{ ref('user_album_features') }} as ual
        on c.fold = ual.fold and c.uid = ual.uid and m.album_id = ual.album_id
    left join {{ ref('int_user_content_profiles') }} as p
        on c.fold = p.fold and c.uid = p.uid
    left join {{ ref('item_embeddings') }} as e
        on c.item_id = e.item_id
),

{#- Ratios of the columns above, the last columns of the mart (the ranker reads them as features):
    trees split on one column at a time and hardly learn a ratio of two counts. Windows: the 1,
    7 and 30 days of var feature_windows_days. -#}
with_ratios as (
    select
        *,
        {#- share of the user's listens that went to this item (all time, decayed, last 7 / 30 days) #}
        {{ ratio_feature('ui_listen_events', 'user_listen_events') }} as ui_listen_share,
        {{ ratio_feature('ui_decayed_listen_events', 'user_decayed_listen_events') }} as ui_decayed_listen_share,
        {{ ratio_feature('ui_listens_7d', 'user_listens_7d') }} as ui_listens_7d_share,
        {{ ratio_feature('ui_listens_30d', 'user_listens_30d') }} as ui_listens_30d_share,
        {#- listens per distinct item: how much the user repeats (1 = never) #}
        {{ ratio_feature('user_listen_events', 'user_distinct_items') }} as user_listens_per_item,
        {#- item trend: daily rate over the last day / last 7 days, last 7 / last 30 days #}
        {{ window_trend('item_listens', 1, 7) }} as item_trend_1d_7d,
        {{ window_trend('item_listens', 7, 30) }} as item_trend_7d_30d,
        {#- share of the item's recent listens that came from this user #}
        {{ ratio_feature('ui_listens_30d', 'item_listens_30d') }} as ui_item_listens_30d_share
    from with_features
)

select * from with_ratios
