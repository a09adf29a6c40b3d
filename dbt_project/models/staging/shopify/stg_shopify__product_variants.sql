with source as (

    select * from {{ deduplicated(source('shopify', 'product_variants'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_variant_id,
        product_id as shopify_product_id,
        title as variant_title,
        sku,
        barcode,
        price,
        inventory_item_id as shopify_inventory_item_id,
        weight_value,
        weight_unit,
        {{ to_utc('variant_updated_at') }} as updated_at
    from source

)

select * from renamed
