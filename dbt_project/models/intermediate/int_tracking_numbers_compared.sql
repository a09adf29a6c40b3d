{#-
  Tracking numbers on both sides of each linked order, as sorted distinct lists, and when the
  latest Shopify fulfilment with tracking was created (the tracking SLA runs from it).
-#}
-- depends_on: {{ ref('int_shopify_orders_linked') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'tiktok_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'tiktok_order_id']) }}",
        post_hook="{{ shoptok.incremental_finish() }}",
    )
}}

with links as (

    select connection_id, tiktok_order_id, shopify_order_id
    from {{ ref('int_tiktok_orders_linked') }} as linked
    where
        linked.shopify_order_id is not null
        and {{ shoptok.incremental_filter('linked', ['connection_id', 'tiktok_order_id']) }}

),

tiktok_numbers as (

    select distinct connection_id, tiktok_order_id, tracking_number
    from {{ ref('stg_tiktok_shop__order_line_items') }} as tiktok_lines
    where
        coalesce(tracking_number, '') != ''
        and {{ shoptok.incremental_filter('tiktok_lines', ['connection_id', 'tiktok_order_id']) }}

),

shopify_numbers as (

    select connection_id, shopify_order_id, tracking_number, max(created_at) as fulfilled_at
    from {{ ref('stg_shopify__fulfillments') }} as fulfillments
    where
        coalesce(tracking_number, '') != ''
        and exists (
            select 1 from links
            where
                links.connection_id = fulfillments.connection_id
                and links.shopify_order_id = fulfillments.shopify_order_id
        )
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
