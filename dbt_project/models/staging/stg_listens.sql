{{ stage_events('listens', extra=[('played_ratio_pct', type_uint16()), ('track_length_seconds', type_uint32())]) }}
