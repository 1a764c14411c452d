{{ stage_reaction_events('dislikes') }}
