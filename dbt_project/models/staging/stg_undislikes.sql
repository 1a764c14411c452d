{{ stage_reaction_events('undislikes') }}
