{#-
  Each TikTok order with the Shopify order the sales channel created for it (at most one: if the
  channel created two, the first is the mirror and the count says so).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'tiktok_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'tiktok_order_id'], always_where='shopify_order_count > 1') }}",
        post_hook="{{ shoptok.incremental_finish() }}",
    )
}}

with tiktok_orders as (

    select * from {{ ref('stg_tiktok_shop__orders') }} as tiktok_orders
    where {{ shoptok.incremental_filter('tiktok_orders', ['connection_id', 'tiktok_order_id']) }}

),

shopify_orders as (

    select
        *,
        row_number()
            over (partition by connection_id, tiktok_order_id order by created_at, shopify_order_id)
            as link_rank,
        count(*) over (partition by connection_id, tiktok_order_id) as shopify_order_count
    from {{ ref('int_shopify_orders_linked') }} as shopify_linked
    -- the windows partition by the key, so keeping only the changed keys first changes no row
    where
        shopify_linked.tiktok_order_id is not null
        and {{ shoptok.incremental_filter('shopify_linked', ['connection_id', 'tiktok_order_id']) }}

)

select
    tiktok_orders.*,
    shopify_orders.shopify_order_id,
    shopify_orders.order_name as shopify_order_name,
    shopify_orders.created_at as shopify_created_at,
    shopify_orders.cancelled_at as shopify_cancelled_at,
    shopify_orders.financial_status as shopify_financial_status,
    shopify_orders.fulfillment_status as shopify_fulfillment_status,
    shopify_orders.total_price as shopify_total_price,
    coalesce(shopify_orders.shopify_order_count, 0) as shopify_order_count
from tiktok_orders
left join shopify_orders
    on
        tiktok_orders.connection_id = shopify_orders.connection_id
        and tiktok_orders.tiktok_order_id = shopify_orders.tiktok_order_id
        and shopify_orders.link_rank = 1
