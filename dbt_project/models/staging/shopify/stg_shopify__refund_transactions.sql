with source as (

    select * from {{ deduplicated(source('shopify', 'order_refund_transactions'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_transaction_id,
        refund_id as shopify_refund_id,
        order_id as shopify_order_id,
        kind,
        status,
        gateway,
        amount,
        {{ to_utc('processed_at') }} as processed_at
    from source

)

select * from renamed
