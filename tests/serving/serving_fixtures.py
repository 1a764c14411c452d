"""Helpers of the serving tests (the fixtures live in conftest.py)."""

# every generator the candidate tests' fixture can fit, with small settings (their FAST)
MODELS = ["random", "mostpop", "decaypop", "history", "itemknn", "ials", "bpr", "audio",
          "artist", "album", "fresh"]
PARAMS = {"itemknn": {"k": 3}, "ials": {"factors": 4, "iterations": 3},
          "bpr": {"factors": 4, "iterations": 5}, "audio": {"profile_items": 3},
          "fresh": {"max_age_days": 1e6}}
