{#-
  The units of each TikTok return or cancellation, mapped onto the Shopify line items of the
  mirrored order by SKU, with how many of them Shopify refunds (matched by note) restocked.
  Repairs build their refund lines and restocks from this.
-#}
with units as (

    select connection_id, tiktok_return_id as tiktok_refund_id, tiktok_order_id, seller_sku, count(*) as units
    from {{ ref('stg_tiktok_shop__return_line_items') }}
    group by 1, 2, 3, 4
    union all
    select connection_id, tiktok_cancel_id as tiktok_refund_id, tiktok_order_id, seller_sku, count(*) as units
    from {{ ref('stg_tiktok_shop__cancellation_line_items') }}
    group by 1, 2, 3, 4

),

orders as (

    select connection_id, tiktok_order_id, shopify_order_id
    from {{ ref('int_tiktok_orders_linked') }}
    where shopify_order_id is not null

),

lines as (

    select * from {{ ref('int_shopify_lines_located') }}

),

restocked as (

    select
        refunds.connection_id,
        refunds.shopify_order_id,
        refunds.note,
        refund_lines.sku,
        sum(case when refund_lines.restock_type != 'NO_RESTOCK' then refund_lines.quantity else 0 end)
            as restocked_units
    from {{ ref('stg_shopify__refunds') }} as refunds
    inner join {{ ref('stg_shopify__refund_line_items') }} as refund_lines
        on
            refunds.connection_id = refund_lines.connection_id
            and refunds.shopify_refund_id = refund_lines.shopify_refund_id
    group by 1, 2, 3, 4

)

select
    units.connection_id,
    units.tiktok_refund_id,
    units.tiktok_order_id,
    orders.shopify_order_id,
    units.seller_sku,
    units.units,
    lines.shopify_line_item_id,
    lines.shopify_inventory_item_id,
    lines.shopify_location_id,
    lines.remaining_quantity,
    coalesce((
        select sum(r.restocked_units) from restocked as r
        where
            r.connection_id = units.connection_id
            and r.shopify_order_id = orders.shopify_order_id
            and r.sku = units.seller_sku
            and {{ dbt.position('units.tiktok_refund_id', "coalesce(r.note, '')") }} > 0
    ), 0) as restocked_units
from units
inner join orders
    on units.connection_id = orders.connection_id and units.tiktok_order_id = orders.tiktok_order_id
left join lines
    on
        orders.connection_id = lines.connection_id
        and orders.shopify_order_id = lines.shopify_order_id
        and units.seller_sku = lines.sku
