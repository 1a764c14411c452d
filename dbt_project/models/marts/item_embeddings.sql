{#- Unit-norm audio embeddings, one row per item that has one. -#}
select item_id, normalized_embed
from {{ ref('stg_embeddings') }}
