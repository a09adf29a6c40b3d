with source as (

    select * from {{ deduplicated(source('tiktok_shop', 'products'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as tiktok_product_id,
        title,
        status,
        {{ to_utc('create_time') }} as created_at,
        {{ to_utc('update_time') }} as updated_at
    from source

)

select * from renamed
