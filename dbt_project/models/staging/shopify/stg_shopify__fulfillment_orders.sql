with source as (

    select * from {{ deduplicated(source('shopify', 'order_fulfillment_orders'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_fulfillment_order_id,
        order_id as shopify_order_id,
        status,
        assigned_location_id as shopify_location_id
    from source

)

select * from renamed
