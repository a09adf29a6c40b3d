with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'product_skus'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_sku_id,
        product_id as tiktok_product_id,
        seller_sku,
        external_sku_id,
        price_currency as currency,
        sale_price
    from source

)

select * from renamed
