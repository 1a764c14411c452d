{{ stage_reaction_events('unlikes') }}
