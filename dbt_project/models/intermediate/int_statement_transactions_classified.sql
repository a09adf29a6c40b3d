{#-
  Statement transactions with the fee and adjustment classes finance reports on, and with the
  Shopify order they belong to (for order-date bucketing and revenue checks).
-#}
with transactions as (

    select * from {{ ref('stg_tiktok_shop__statement_transactions') }}

),

orders as (

    select connection_id, tiktok_order_id, shopify_order_id, shopify_total_price, created_at as tiktok_order_created_at
    from {{ ref('int_tiktok_orders_linked') }}

)

select
    transactions.*,
    transactions.transaction_type = 'ORDER' as is_order,
    orders.shopify_order_id,
    orders.shopify_total_price,
    coalesce(transactions.order_created_at, orders.tiktok_order_created_at) as order_date_basis_at,
    case when transactions.transaction_type = 'CHARGE_BACK' then transactions.adjustment_amount else 0 end
        as chargeback_amount,
    case when transactions.transaction_type != 'CHARGE_BACK' then transactions.adjustment_amount else 0 end
        as other_adjustment_amount,
    transactions.fee_amount
    - coalesce(transactions.platform_commission_amount, 0)
    - coalesce(transactions.referral_fee_amount, 0)
    - coalesce(transactions.transaction_fee_amount, 0)
    - coalesce(transactions.affiliate_commission_amount, 0) as other_fee_amount,
    (transactions.transaction_type = 'ORDER' and orders.shopify_order_id is null) as is_order_not_in_shopify,
    (
        transactions.transaction_type = 'ORDER'
        and orders.shopify_order_id is not null
        and abs(transactions.customer_payment_amount - orders.shopify_total_price) > {{ var('money_tolerance') }}
    ) as is_revenue_mismatch
from transactions
left join orders
    on transactions.connection_id = orders.connection_id and transactions.tiktok_order_id = orders.tiktok_order_id
