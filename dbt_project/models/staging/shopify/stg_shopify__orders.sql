with source as (

    select * from {{ deduplicated(source('shopify', 'orders'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_order_id,
        name as order_name,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ to_utc('processed_at') }} as processed_at,
        {{ to_utc('cancelled_at') }} as cancelled_at,
        cancel_reason,
        display_financial_status as financial_status,
        display_fulfillment_status as fulfillment_status,
        source_name,
        source_identifier,
        tags as tags_json,
        custom_attributes as custom_attributes_json,
        payment_gateway_names as payment_gateway_names_json,
        test as is_test,
        currency_code as currency,
        total_price,
        subtotal_price,
        total_tax,
        total_shipping_price,
        total_discounts,
        total_refunded,
        net_payment
    from source

)

select * from renamed
