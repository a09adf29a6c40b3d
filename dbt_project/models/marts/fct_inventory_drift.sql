{#-
  One row per TikTok SKU × TikTok warehouse (FBT warehouses excluded: their stock is TikTok's).
  Shopify is the source of truth: TikTok should show what Shopify has at the mapped location,
  less units already sold on TikTok but not yet in Shopify, less the safety buffer.
-#}
with stock as (

    select * from {{ ref('stg_tiktok_shop__inventory_levels') }}

),

warehouses as (

    select * from {{ ref('stg_config__warehouses') }}

),

skus as (

    select * from {{ ref('int_skus_mapped') }}

),

levels as (

    select * from {{ ref('stg_shopify__inventory_levels') }}

),

in_flight as (

    select * from {{ ref('int_in_flight_units_counted') }}

),

joined as (

    select
        stock.connection_id,
        coalesce(skus.seller_sku, stock.seller_sku) as seller_sku,
        stock.tiktok_product_id,
        stock.tiktok_sku_id,
        stock.tiktok_warehouse_id,
        skus.shopify_variant_id,
        skus.shopify_inventory_item_id,
        warehouses.shopify_location_id,
        levels.available as shopify_available,
        coalesce(in_flight.in_flight_units, 0) as in_flight_units,
        stock.available_quantity as tiktok_available,
        skus.shopify_price as unit_price
    from stock
    left join warehouses
        on stock.connection_id = warehouses.connection_id and stock.tiktok_warehouse_id = warehouses.tiktok_warehouse_id
    left join skus
        on stock.connection_id = skus.connection_id and stock.tiktok_sku_id = skus.tiktok_sku_id
    left join levels
        on
            skus.connection_id = levels.connection_id
            and skus.shopify_inventory_item_id = levels.shopify_inventory_item_id
            and warehouses.shopify_location_id = levels.shopify_location_id
    left join in_flight
        on
            stock.connection_id = in_flight.connection_id
            and coalesce(skus.seller_sku, stock.seller_sku) = in_flight.seller_sku
            and stock.tiktok_warehouse_id = in_flight.tiktok_warehouse_id
    where not coalesce(warehouses.is_fbt, false)

),

expected as (

    select
        joined.*,
        case
            when shopify_variant_id is not null and shopify_location_id is not null
                then
                    greatest(0, coalesce(shopify_available, 0) - in_flight_units - {{ var('inventory_safety_buffer') }})
        end as expected_tiktok_available
    from joined

),

ruled as (

    select
        expected.*,
        tiktok_available - expected_tiktok_available as drift_qty,
        shopify_variant_id is null as is_sku_not_in_shopify,
        shopify_location_id is null as is_warehouse_unmapped,
        tiktok_available > expected_tiktok_available as is_tiktok_overstated,
        tiktok_available < expected_tiktok_available as is_tiktok_understated
    from expected

)

select
    connection_id,
    seller_sku,
    tiktok_product_id,
    tiktok_sku_id,
    tiktok_warehouse_id,
    shopify_variant_id,
    shopify_inventory_item_id,
    shopify_location_id,
    shopify_available,
    in_flight_units,
    expected_tiktok_available,
    tiktok_available,
    drift_qty,
    cast(case when drift_qty > 0 then drift_qty * unit_price else 0 end as decimal(18, 2)) as oversell_risk_value,
    {{ drift_columns([
        ('sku_not_in_shopify', 'is_sku_not_in_shopify'),
        ('warehouse_unmapped', 'is_warehouse_unmapped'),
        ('tiktok_overstated', 'is_tiktok_overstated'),
        ('tiktok_understated', 'is_tiktok_understated'),
    ]) }},
    {{ as_of() }} as detected_at
from ruled
