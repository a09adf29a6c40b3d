with source as (

    select * from {{ deduplicated(source('shopify', 'order_line_items'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_line_item_id,
        order_id as shopify_order_id,
        sku,
        quantity,
        variant_id as shopify_variant_id,
        original_unit_price,
        discounted_total
    from source

)

select * from renamed
