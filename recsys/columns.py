"""Column and table names: one name per concept, equal to the warehouse column names.

Python never spells ``"uid"`` or ``"item_id"`` inline where a constant here would do, so SQL and
Python cannot drift apart.
"""


class Columns:
    # raw Yambda columns
    uid = "uid"
    item_id = "item_id"
    timestamp = "timestamp"
    is_organic = "is_organic"
    played_ratio_pct = "played_ratio_pct"
    track_length_seconds = "track_length_seconds"
    event_type = "event_type"
    artist_id = "artist_id"
    album_id = "album_id"
    embed = "embed"
    normalized_embed = "normalized_embed"
    # evaluation protocol
    fold = "fold"
    target = "target"
    model = "model"
    rank = "rank"
    score = "score"


class Tables:
    """Warehouse tables shared between dbt (marts) and Python stages."""

    folds = "folds"                          # dbt mart: fold, history_end_ts, target_start_ts, target_end_ts
    eval_targets = "eval_targets"            # dbt mart: fold, target, uid, item_id, is_organic, ...
    train_interactions = "train_interactions"  # dbt mart: fold, target, uid, item_id, aggregates
    item_embeddings = "item_embeddings"      # dbt mart: item_id, normalized_embed
    history_events = "history_events"        # dbt mart (view): target, uid, item_id, timestamp
    items_mapped = "int_items_mapped"        # dbt (view): item_id, artist_id, album_id (primary)
    candidates = "candidates"                # Python: fold, target, model, uid, item_id, rank, score
    candidate_params = "candidate_params"    # Python: target, model, params (JSON) tuned on val
    candidate_features = "candidate_features"  # dbt mart: candidates joined with features
    recommendations = "recommendations"      # Python: fold, target, model, uid, item_id, rank, score
    metrics_per_user = "metrics_per_user"    # SQL: per-user metric values
    metrics = "metrics"                      # SQL: fold, target, model, convention, subset, metric, k, value, users
    model_runs = "model_runs"                # Python: fold, target, model, params, tuned, fit/predict seconds
    candidate_recall = "candidate_recall"    # Python: fold, target, source, recall, targets
    ranker_feature_importance = "ranker_feature_importance"  # Python: target, feature, gain
    next_song_queries = "next_song_queries"  # dbt mart: fold, uid, session, query_items, answer_item
    next_song_recommendations = "next_song_recommendations"  # Python: fold, model, uid, session, rank, item_id, score


TARGETS = ("listen_plus", "like")
RECOMMENDATION_COLUMNS = (
    Columns.fold, Columns.target, Columns.model, Columns.uid, Columns.item_id, Columns.rank, Columns.score,
)
