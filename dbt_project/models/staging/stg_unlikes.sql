{{ stage_events('unlikes') }}
