{#- The Python-written `candidates` table (source recsys.candidates: recsys/tables.py), typed; an
    empty relation of the same columns while no generator has run. Ephemeral: inlined into
    candidate_features whenever that mart is built, so it always reads the table as it is then. -#}
{{ config(materialized='ephemeral') }}
{{ relation_or_empty(source('recsys', 'candidates'), {
    'fold': dbt.type_string(), 'target': dbt.type_string(), 'model': dbt.type_string(),
    'uid': type_uint32(), 'item_id': type_uint32(), 'rank': dbt.type_int(), 'score': dbt.type_float()}) }}
