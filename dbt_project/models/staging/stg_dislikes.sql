{{ stage_events('dislikes') }}
