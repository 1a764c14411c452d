{{ stage_reaction_events('likes') }}
