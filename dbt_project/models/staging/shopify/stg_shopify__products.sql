with source as (

    select * from {{ deduplicated(source('shopify', 'products'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_product_id,
        title,
        status,
        media_count,
        tiktok_title,
        package_dimensions,
        {{ to_utc('created_at') }} as created_at,
        {{ to_utc('updated_at') }} as updated_at
    from source

)

select * from renamed
