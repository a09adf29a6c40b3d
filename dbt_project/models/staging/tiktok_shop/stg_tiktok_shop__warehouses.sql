with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'warehouses'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_warehouse_id,
        name as warehouse_name,
        effect_status,
        type as warehouse_type
    from source

)

select * from renamed
