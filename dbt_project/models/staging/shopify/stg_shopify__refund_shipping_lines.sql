with source as (

    select * from {{ deduplicated(source('shopify', 'order_refund_shipping_lines'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_refund_shipping_line_id,
        refund_id as shopify_refund_id,
        order_id as shopify_order_id,
        subtotal_amount
    from source

)

select * from renamed
