with source as (

    select *
    from {{ deduplicated(source('tiktok_shop', 'cancellation_line_items'), ['connection_id', 'cancel_line_item_id']) }}

),

renamed as (

    select
        connection_id,
        cancel_line_item_id as tiktok_cancel_line_item_id,
        cancel_id as tiktok_cancel_id,
        order_id as tiktok_order_id,
        order_line_item_id as tiktok_line_item_id,
        sku_id as tiktok_sku_id,
        seller_sku,
        refund_total
    from source

)

select * from renamed
