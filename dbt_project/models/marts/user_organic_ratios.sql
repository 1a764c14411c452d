{#- Per fold, user and event type: events before the cut-off and the share that was organic. -#}
{{ organic_ratios_by('uid', ref('int_user_item_events_counted')) }}
