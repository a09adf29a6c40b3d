with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'inventory'), ['connection_id', 'sku_id', 'warehouse_id']) }}

),

renamed as (

    select
        connection_id,
        sku_id as tiktok_sku_id,
        warehouse_id as tiktok_warehouse_id,
        product_id as tiktok_product_id,
        seller_sku,
        available_quantity,
        committed_quantity
    from source

)

select * from renamed
