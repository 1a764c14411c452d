{{ stage_events('undislikes') }}
