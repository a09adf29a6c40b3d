with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'orders'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_order_id,
        status,
        {{ to_utc('create_time') }} as created_at,
        {{ to_utc('update_time') }} as updated_at,
        {{ to_utc('paid_time') }} as paid_at,
        {{ to_utc('rts_time') }} as rts_at,
        {{ to_utc('collection_time') }} as collected_at,
        {{ to_utc('delivery_time') }} as delivered_at,
        {{ to_utc('cancel_time') }} as cancelled_at,
        fulfillment_type,
        shipping_type,
        warehouse_id as tiktok_warehouse_id,
        tracking_number,
        shipping_provider_id,
        is_on_hold_order as is_on_hold,
        payment_currency as currency,
        payment_total_amount as total_amount,
        payment_sub_total as sub_total,
        payment_shipping_fee as shipping_fee,
        payment_seller_discount as seller_discount,
        payment_platform_discount as platform_discount,
        payment_tax as tax
    from source

)

select * from renamed
