with source as (

    select * from {{ deduplicated(source('shopify', 'order_refund_line_items'), ['connection_id', 'refund_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_refund_line_item_id,
        refund_id as shopify_refund_id,
        order_id as shopify_order_id,
        line_item_id as shopify_line_item_id,
        sku,
        quantity,
        restock_type,
        restocked as is_restocked,
        location_id as shopify_location_id,
        subtotal
    from source

)

select * from renamed
