{#- Point-in-time user-artist affinity (artist = the item's primary artist, see int_items_mapped). -#}
{{ user_group_affinity('artist_id', 'ua') }}
