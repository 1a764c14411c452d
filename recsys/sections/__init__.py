"""The pipeline config's section parsers, and the facts they check names and values against.

Each module turns one section of the merged YAML mapping into checked values, raising
``ConfigError`` that names the key: ``candidates`` (list length, tuning budget and metric),
``generators`` (the generator names and their parameters), ``search_space`` (tuned ranges),
``evaluation`` (cut-offs, conventions, seed repeats) and ``ranker``. They import nothing from
the stages; ``recsys.pipeline_config.parse_config`` calls them once and the stages read the typed
result (the import-linter contract in ``pyproject.toml`` keeps it that way).
"""
