with source as (

    select * from {{ deduplicated(source('shopify', 'order_refunds'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_refund_id,
        order_id as shopify_order_id,
        {{ to_utc('created_at') }} as created_at,
        note,
        total_refunded
    from source

)

select * from renamed
