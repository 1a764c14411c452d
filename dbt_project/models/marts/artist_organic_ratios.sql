{#- Per fold, artist and event type: events before the cut-off and the share that was organic. -#}
{{ organic_ratios_by('artist_id', ref('int_user_item_events_counted'), ref('int_items_mapped')) }}
