with source as (

    select * from {{ deduplicated(source('shopify', 'inventory_levels'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_inventory_level_id,
        inventory_item_id as shopify_inventory_item_id,
        variant_id as shopify_variant_id,
        sku,
        location_id as shopify_location_id,
        available,
        committed,
        on_hand,
        {{ to_utc('updated_at') }} as updated_at
    from source

)

select * from renamed
