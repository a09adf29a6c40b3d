with source as (

    select *
    from {{ deduplicated(source('shopify', 'order_fulfillments'), ['connection_id', 'id', 'tracking_position']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_fulfillment_id,
        order_id as shopify_order_id,
        tracking_position,
        status,
        {{ to_utc('created_at') }} as created_at,
        tracking_number,
        tracking_company,
        tracking_url
    from source

)

select * from renamed
