{#-
  Shopify orders with the TikTok order id they carry. The TikTok sales channel has written it in
  different places over time, so every place is read and the configured priority decides.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'shopify_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'shopify_order_id'], changed='shopify_orders') }}",
        post_hook="{{ shoptok.incremental_finish() }}",
    )
}}
{%- set tiktok_source_names = var('tiktok_source_names') -%}

with orders as (

    select * from {{ ref('stg_shopify__orders') }} as orders
    where {{ shoptok.incremental_filter('orders', ['connection_id', 'shopify_order_id']) }}

),

candidates as (

    select
        orders.*,
        nullif(source_identifier, '') as link_source_identifier,
        {{ json_key_value('custom_attributes_json', var('order_link_attribute_key')) }} as link_custom_attribute,
        {{ json_array_value_with_prefix('tags_json', var('order_link_tag_prefix')) }} as link_tag
    from orders

),

linked as (

    select
        candidates.*,
        coalesce(
            {%- for place in var('order_link_priority') %}
                nullif(link_{{ place }}, ''){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as tiktok_order_id
    from candidates

)

select
    linked.*,
    (
        source_name in ({% for s in tiktok_source_names %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
        or tiktok_order_id is not null
    ) as is_tiktok_channel
from linked
