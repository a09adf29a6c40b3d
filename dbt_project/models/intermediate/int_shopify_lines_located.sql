{#-
  Each Shopify order line with its inventory item and the location it ships from (its fulfillment
  order's assigned location), and how many units are still unfulfilled: what a restock or a
  cancellation puts back, and where.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'shopify_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'shopify_order_id'], changed='shopify_order_lines') }}",
        post_hook="{{ shoptok.incremental_finish() }}",
    )
}}

with lines as (

    select * from {{ ref('stg_shopify__order_line_items') }} as order_lines
    where {{ shoptok.incremental_filter('order_lines', ['connection_id', 'shopify_order_id']) }}

),

fo_lines as (

    select
        fo_lines.connection_id,
        fo_lines.shopify_line_item_id,
        min(fulfillment_orders.shopify_location_id) as shopify_location_id,
        sum(fo_lines.remaining_quantity) as remaining_quantity
    from {{ ref('stg_shopify__fulfillment_order_line_items') }} as fo_lines
    inner join {{ ref('stg_shopify__fulfillment_orders') }} as fulfillment_orders
        on
            fo_lines.connection_id = fulfillment_orders.connection_id
            and fo_lines.shopify_fulfillment_order_id = fulfillment_orders.shopify_fulfillment_order_id
    where {{ shoptok.incremental_filter('fo_lines', ['connection_id', 'shopify_order_id']) }}
    group by 1, 2

),

variants as (

    select connection_id, shopify_variant_id, shopify_inventory_item_id from {{ ref('stg_shopify__product_variants') }}

)

select
    lines.connection_id,
    lines.shopify_order_id,
    lines.shopify_line_item_id,
    lines.sku,
    lines.quantity,
    variants.shopify_inventory_item_id,
    fo_lines.shopify_location_id,
    coalesce(fo_lines.remaining_quantity, 0) as remaining_quantity
from lines
left join fo_lines
    on lines.connection_id = fo_lines.connection_id and lines.shopify_line_item_id = fo_lines.shopify_line_item_id
left join variants
    on lines.connection_id = variants.connection_id and lines.shopify_variant_id = variants.shopify_variant_id
