with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'statements'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_statement_id,
        {{ to_utc('statement_time') }} as statement_time,
        currency,
        settlement_amount,
        revenue_amount,
        fee_amount,
        adjustment_amount,
        shipping_cost_amount,
        net_sales_amount,
        payment_status,
        payment_id as tiktok_payment_id,
        {{ to_utc('payment_time') }} as paid_at
    from source

)

select * from renamed
