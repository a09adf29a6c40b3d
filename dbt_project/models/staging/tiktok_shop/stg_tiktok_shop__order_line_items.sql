with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'order_line_items'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_line_item_id,
        order_id as tiktok_order_id,
        sku_id as tiktok_sku_id,
        product_id as tiktok_product_id,
        seller_sku,
        currency,
        original_price,
        sale_price,
        seller_discount,
        platform_discount,
        display_status,
        package_id,
        tracking_number,
        shipping_provider_id,
        shipping_provider_name
    from source

)

select * from renamed
