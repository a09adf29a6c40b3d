{#-
  SKU × quantity on both sides of each linked order, as canonical strings, so a difference in any
  SKU or quantity shows as a string difference. TikTok lists one line per unit.
-#}
{%- set tiktok_line = "tiktok_units.sku || ':' || cast(tiktok_units.quantity as varchar)" -%}
{%- set shopify_line = "coalesce(shopify_units.sku, '') || ':' || cast(shopify_units.quantity as varchar)" -%}

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

tiktok_units as (

    select connection_id, tiktok_order_id, seller_sku as sku, count(*) as quantity
    from {{ ref('stg_tiktok_shop__order_line_items') }} as tiktok_lines
    where {{ shoptok.incremental_filter('tiktok_lines', ['connection_id', 'tiktok_order_id']) }}
    group by 1, 2, 3

),

shopify_units as (

    select connection_id, shopify_order_id, sku, sum(quantity) as quantity
    from {{ ref('stg_shopify__order_line_items') }} as shopify_lines
    where
        exists (
            select 1 from links
            where
                links.connection_id = shopify_lines.connection_id
                and links.shopify_order_id = shopify_lines.shopify_order_id
        )
    group by 1, 2, 3

),

tiktok_lines as (

    select
        links.connection_id,
        links.tiktok_order_id,
        sum(tiktok_units.quantity) as tiktok_units,
        {{ dbt.listagg(tiktok_line, "','", 'order by tiktok_units.sku') }} as tiktok_lines
    from links
    inner join tiktok_units
        on
            links.connection_id = tiktok_units.connection_id
            and links.tiktok_order_id = tiktok_units.tiktok_order_id
    group by 1, 2

),

shopify_lines as (

    select
        links.connection_id,
        links.tiktok_order_id,
        sum(shopify_units.quantity) as shopify_units,
        {{ dbt.listagg(shopify_line, "','", 'order by shopify_units.sku') }} as shopify_lines
    from links
    inner join shopify_units
        on
            links.connection_id = shopify_units.connection_id
            and links.shopify_order_id = shopify_units.shopify_order_id
    group by 1, 2

)

select
    links.connection_id,
    links.tiktok_order_id,
    links.shopify_order_id,
    tiktok_lines.tiktok_units,
    shopify_lines.shopify_units,
    tiktok_lines.tiktok_lines,
    shopify_lines.shopify_lines,
    coalesce(tiktok_lines.tiktok_lines, '') != coalesce(shopify_lines.shopify_lines, '') as is_line_mismatch
from links
left join tiktok_lines
    on links.connection_id = tiktok_lines.connection_id and links.tiktok_order_id = tiktok_lines.tiktok_order_id
left join shopify_lines
    on links.connection_id = shopify_lines.connection_id and links.tiktok_order_id = shopify_lines.tiktok_order_id
