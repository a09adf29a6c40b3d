with source as (

    select * from {{ deduplicated(source('config', 'warehouses'), ['connection_id', 'tiktok_warehouse_id']) }}

),

renamed as (

    select
        connection_id,
        tiktok_warehouse_id,
        name as warehouse_name,
        is_fbt,
        shopify_location_id
    from source

)

select * from renamed
