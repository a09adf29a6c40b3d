{#-
  Each Shopify refund with its amount and restocked units. A record-only refund (how the TikTok
  channel mirrors refunds) moves no money, so its amount is its lines plus shipping lines, not
  totalRefundedSet.
-#}
with refunds as (

    select * from {{ ref('stg_shopify__refunds') }}

),

lines as (

    select
        connection_id,
        shopify_refund_id,
        sum(subtotal) as lines_amount,
        sum(case when restock_type != 'NO_RESTOCK' then quantity else 0 end) as restocked_units,
        sum(quantity) as refunded_units
    from {{ ref('stg_shopify__refund_line_items') }}
    group by 1, 2

),

shipping as (

    select connection_id, shopify_refund_id, sum(subtotal_amount) as shipping_amount
    from {{ ref('stg_shopify__refund_shipping_lines') }}
    group by 1, 2

),

money as (

    select connection_id, shopify_refund_id, count(*) as money_transactions, sum(amount) as money_amount
    from {{ ref('stg_shopify__refund_transactions') }}
    where kind = 'REFUND'
    group by 1, 2

)

select
    refunds.connection_id,
    refunds.shopify_refund_id,
    refunds.shopify_order_id,
    refunds.created_at,
    refunds.note,
    coalesce(lines.lines_amount, 0) + coalesce(shipping.shipping_amount, 0) as refund_amount,
    coalesce(lines.restocked_units, 0) as restocked_units,
    coalesce(lines.refunded_units, 0) as refunded_units,
    coalesce(money.money_transactions, 0) as money_transactions,
    coalesce(money.money_amount, 0) as money_amount
from refunds
left join lines on refunds.connection_id = lines.connection_id and refunds.shopify_refund_id = lines.shopify_refund_id
left join shipping
    on refunds.connection_id = shipping.connection_id and refunds.shopify_refund_id = shipping.shopify_refund_id
left join money on refunds.connection_id = money.connection_id and refunds.shopify_refund_id = money.shopify_refund_id
