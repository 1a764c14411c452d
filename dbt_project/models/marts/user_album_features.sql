{#- Point-in-time user-album affinity (album = the item's primary album, see int_items_mapped). -#}
{{ user_group_affinity('album_id', 'ual') }}
