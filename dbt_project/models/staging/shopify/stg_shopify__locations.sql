with source as (

    select * from {{ deduplicated(source('shopify', 'locations'), ['connection_id', 'id']) }}

),

renamed as (

    select
        connection_id,
        id as shopify_location_id,
        name as location_name,
        is_active,
        country_code
    from source

)

select * from renamed
