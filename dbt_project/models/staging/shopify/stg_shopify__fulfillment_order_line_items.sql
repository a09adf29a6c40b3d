with source as (

    select * from {{ deduplicated(source('shopify', 'order_fulfillment_order_line_items'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_fulfillment_order_line_item_id,
        fulfillment_order_id as shopify_fulfillment_order_id,
        order_id as shopify_order_id,
        line_item_id as shopify_line_item_id,
        sku,
        total_quantity,
        remaining_quantity
    from source

)

select * from renamed
