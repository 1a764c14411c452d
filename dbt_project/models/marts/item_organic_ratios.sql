{#- Per fold, item and event type: events before the cut-off and the share that was organic. -#}
{{ organic_ratios_by('item_id', ref('int_user_item_events_counted')) }}
