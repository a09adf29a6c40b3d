{#-
  Units TikTok has already taken out of its stock that Shopify has not: seller-fulfilled TikTok
  orders that are paid and not cancelled but have no Shopify order yet, per seller SKU × warehouse.
-#}
with orders as (

    select * from {{ ref('int_tiktok_orders_linked') }}
    where
        fulfillment_type = 'FULFILLMENT_BY_SELLER'
        and shopify_order_id is null
        and status in (
            'ON_HOLD',
            'AWAITING_SHIPMENT',
            'PARTIALLY_SHIPPING',
            'AWAITING_COLLECTION',
            'IN_TRANSIT',
            'DELIVERED',
            'COMPLETED'
        )

)

select
    orders.connection_id,
    lines.seller_sku,
    orders.tiktok_warehouse_id,
    count(*) as in_flight_units
from orders
inner join {{ ref('stg_tiktok_shop__order_line_items') }} as lines
    on orders.connection_id = lines.connection_id and orders.tiktok_order_id = lines.tiktok_order_id
group by 1, 2, 3
