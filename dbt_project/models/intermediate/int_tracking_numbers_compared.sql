{#-
  Tracking numbers on both sides of each linked order, as sorted distinct lists, and when the
  latest Shopify fulfilment with tracking was created (the tracking SLA runs from it).
-#}
with links as (

    select connection_id, tiktok_order_id, shopify_order_id
    from {{ ref('int_tiktok_orders_linked') }}
    where shopify_order_id is not null

),

tiktok_numbers as (

    select distinct connection_id, tiktok_order_id, tracking_number
    from {{ ref('stg_tiktok_shop__order_line_items') }}
    where coalesce(tracking_number, '') != ''

),

shopify_numbers as (

    select connection_id, shopify_order_id, tracking_number, max(created_at) as fulfilled_at
    from {{ ref('stg_shopify__fulfillments') }}
    where coalesce(tracking_number, '') != ''
    group by 1, 2, 3

),

tiktok_side as (

    select
        connection_id,
        tiktok_order_id,
        {{ dbt.listagg('tracking_number', "','", 'order by tracking_number') }} as tiktok_tracking_numbers
    from tiktok_numbers
    group by 1, 2

),

shopify_side as (

    select
        connection_id,
        shopify_order_id,
        {{ dbt.listagg('tracking_number', "','", 'order by tracking_number') }} as shopify_tracking_numbers,
        max(fulfilled_at) as latest_shopify_fulfillment_at
    from shopify_numbers
    group by 1, 2

)

select
    links.connection_id,
    links.tiktok_order_id,
    links.shopify_order_id,
    tiktok_side.tiktok_tracking_numbers,
    shopify_side.shopify_tracking_numbers,
    shopify_side.latest_shopify_fulfillment_at
from links
left join tiktok_side
    on links.connection_id = tiktok_side.connection_id and links.tiktok_order_id = tiktok_side.tiktok_order_id
left join shopify_side
    on links.connection_id = shopify_side.connection_id and links.shopify_order_id = shopify_side.shopify_order_id
