with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'cancellations'), ['connection_id', 'cancel_id']) }}

),

renamed as (

    select
        connection_id,
        cancel_id as tiktok_cancel_id,
        order_id as tiktok_order_id,
        cancel_type,
        cancel_status,
        role,
        {{ to_utc('create_time') }} as created_at,
        {{ to_utc('update_time') }} as updated_at,
        refund_currency as currency,
        refund_total,
        refund_subtotal,
        refund_shipping_fee
    from source

)

select * from renamed
