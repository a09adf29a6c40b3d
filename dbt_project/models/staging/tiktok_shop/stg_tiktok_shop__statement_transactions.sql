with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'statement_transactions'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_transaction_id,
        statement_id as tiktok_statement_id,
        type as transaction_type,
        order_id as tiktok_order_id,
        adjustment_id,
        adjustment_order_id,
        {{ to_utc('order_create_time') }} as order_created_at,
        currency,
        settlement_amount,
        revenue_amount,
        fee_amount,
        adjustment_amount,
        shipping_cost_amount,
        net_sales_amount,
        customer_payment_amount,
        customer_order_refund_amount,
        gross_sales_amount,
        platform_discount_amount,
        platform_discount_refund_amount,
        shipping_fee_subsidy_amount,
        platform_commission_amount,
        referral_fee_amount,
        transaction_fee_amount,
        affiliate_commission_amount,
        refund_administration_fee_amount
    from source

)

select * from renamed
