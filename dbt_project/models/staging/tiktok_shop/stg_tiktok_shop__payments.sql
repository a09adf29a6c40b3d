with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'payments'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_payment_id,
        {{ to_utc('create_time') }} as created_at,
        {{ to_utc('paid_time') }} as paid_at,
        status,
        amount,
        settlement_amount,
        reserve_amount,
        amount_currency as currency
    from source

)

select * from renamed
