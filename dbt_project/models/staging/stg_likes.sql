{{ stage_events('likes') }}
