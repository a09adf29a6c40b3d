with source as (

    select * from {{ deduplicated(source('config', 'connections'), ['connection_id']) }}

),

renamed as (

    select
        connection_id,
        shopify_shop_domain,
        shopify_currency,
        tiktok_shop_id,
        tiktok_region,
        tiktok_currency
    from source

)

select * from renamed
