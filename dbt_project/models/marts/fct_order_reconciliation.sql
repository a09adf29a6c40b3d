{#-
  One row per TikTok order, plus one per TikTok-channel Shopify order whose TikTok id matches no
  TikTok order. drift_type is the first failing rule in the contract's order; in_sync otherwise
  (orders still inside the hold window included).
-#}
{%- set hold_and_grace = var('hold_window_minutes') + var('hold_grace_minutes') -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'tiktok_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'tiktok_order_id'], time_rules=[('hold_deadline_at', 0), ('latest_shopify_fulfillment_at', -1 * var('tracking_sla_hours'))]) }}",
        post_hook="{{ shoptok.incremental_finish(stamp_detected_at=true) }}",
    )
}}

with linked as (

    select * from {{ ref('int_tiktok_orders_linked') }} as linked
    where {{ shoptok.incremental_filter('linked', ['connection_id', 'tiktok_order_id']) }}

),

lines as (

    select * from {{ ref('int_order_lines_compared') }}

),

tracking as (

    select * from {{ ref('int_tracking_numbers_compared') }}

),

tiktok_rows as (

    select
        linked.connection_id,
        linked.tiktok_order_id,
        linked.shopify_order_id,
        linked.shopify_order_name,
        linked.status as tiktok_status,
        linked.shopify_financial_status,
        linked.shopify_fulfillment_status,
        linked.fulfillment_type,
        linked.currency,
        linked.created_at as tiktok_created_at,
        linked.paid_at as tiktok_paid_at,
        linked.cancelled_at as tiktok_cancelled_at,
        linked.shopify_created_at,
        linked.shopify_cancelled_at,
        {{ dbt.dateadd('minute', hold_and_grace, 'linked.paid_at') }} as hold_deadline_at,
        linked.total_amount as tiktok_total_amount,
        linked.shopify_total_price,
        linked.shopify_total_price - linked.total_amount as amount_difference,
        lines.tiktok_units,
        lines.shopify_units,
        tracking.tiktok_tracking_numbers,
        tracking.shopify_tracking_numbers,
        tracking.latest_shopify_fulfillment_at,
        lines.is_line_mismatch
    from linked
    left join lines
        on linked.connection_id = lines.connection_id and linked.tiktok_order_id = lines.tiktok_order_id
    left join tracking
        on linked.connection_id = tracking.connection_id and linked.tiktok_order_id = tracking.tiktok_order_id

),

tiktok_rules as (

    select
        tiktok_rows.*,
        (
            tiktok_status in (
                'AWAITING_SHIPMENT', 'PARTIALLY_SHIPPING', 'AWAITING_COLLECTION', 'IN_TRANSIT', 'DELIVERED', 'COMPLETED'
            )
            and shopify_order_id is null
            and hold_deadline_at < {{ as_of() }}
        ) as is_missing_in_shopify,
        false as is_orphan_in_shopify,
        (tiktok_status = 'ON_HOLD' and hold_deadline_at < {{ as_of() }}) as is_stuck_on_hold,
        (shopify_order_id is not null and tiktok_status = 'CANCELLED' and shopify_cancelled_at is null)
            as is_cancel_not_mirrored,
        (shopify_order_id is not null and shopify_cancelled_at is not null and tiktok_status != 'CANCELLED')
            as is_cancelled_in_shopify_only,
        (
            shopify_order_id is not null
            and fulfillment_type = 'FULFILLMENT_BY_SELLER'
            and latest_shopify_fulfillment_at
            <= {{ dbt.dateadd('hour', -1 * var('tracking_sla_hours'), as_of()) }}
            and (tiktok_tracking_numbers is null or tiktok_status in ('AWAITING_SHIPMENT', 'AWAITING_COLLECTION'))
        ) as is_tracking_not_pushed,
        (
            shopify_order_id is not null
            and tiktok_tracking_numbers is not null
            and shopify_tracking_numbers is not null
            and tiktok_tracking_numbers != shopify_tracking_numbers
        ) as is_tracking_mismatch,
        (shopify_order_id is not null and abs(amount_difference) > {{ var('money_tolerance') }}) as is_amount_mismatch,
        (shopify_order_id is not null and is_line_mismatch) as is_line_items_mismatch
    from tiktok_rows

),

orphans as (

    select
        shopify.connection_id,
        shopify.tiktok_order_id,
        shopify.shopify_order_id,
        shopify.order_name as shopify_order_name,
        cast(null as varchar) as tiktok_status,
        shopify.financial_status as shopify_financial_status,
        shopify.fulfillment_status as shopify_fulfillment_status,
        cast(null as varchar) as fulfillment_type,
        shopify.currency,
        cast(null as {{ dbt.type_timestamp() }}) as tiktok_created_at,
        cast(null as {{ dbt.type_timestamp() }}) as tiktok_paid_at,
        cast(null as {{ dbt.type_timestamp() }}) as tiktok_cancelled_at,
        shopify.created_at as shopify_created_at,
        shopify.cancelled_at as shopify_cancelled_at,
        cast(null as {{ dbt.type_timestamp() }}) as hold_deadline_at,
        cast(null as decimal(18, 2)) as tiktok_total_amount,
        shopify.total_price as shopify_total_price,
        cast(null as decimal(18, 2)) as amount_difference,
        cast(null as bigint) as tiktok_units,
        cast(null as bigint) as shopify_units,
        cast(null as varchar) as tiktok_tracking_numbers,
        cast(null as varchar) as shopify_tracking_numbers,
        cast(null as {{ dbt.type_timestamp() }}) as latest_shopify_fulfillment_at,
        cast(null as boolean) as is_line_mismatch,
        false as is_missing_in_shopify,
        true as is_orphan_in_shopify,
        false as is_stuck_on_hold,
        false as is_cancel_not_mirrored,
        false as is_cancelled_in_shopify_only,
        false as is_tracking_not_pushed,
        false as is_tracking_mismatch,
        false as is_amount_mismatch,
        false as is_line_items_mismatch
    from {{ ref('int_shopify_orders_linked') }} as shopify
    left join {{ ref('stg_tiktok_shop__orders') }} as tiktok
        on shopify.connection_id = tiktok.connection_id and shopify.tiktok_order_id = tiktok.tiktok_order_id
    where
        shopify.is_tiktok_channel and tiktok.tiktok_order_id is null
        and {{ shoptok.incremental_filter('shopify', ['connection_id', 'tiktok_order_id']) }}

),

all_rows as (

    select * from tiktok_rules
    union all
    select * from orphans

)

select
    connection_id,
    tiktok_order_id,
    shopify_order_id,
    shopify_order_name,
    tiktok_status,
    shopify_financial_status,
    shopify_fulfillment_status,
    fulfillment_type,
    currency,
    tiktok_created_at,
    tiktok_paid_at,
    tiktok_cancelled_at,
    shopify_created_at,
    shopify_cancelled_at,
    hold_deadline_at,
    tiktok_total_amount,
    shopify_total_price,
    cast(amount_difference as decimal(18, 2)) as amount_difference,
    cast(tiktok_units as bigint) as tiktok_units,
    cast(shopify_units as bigint) as shopify_units,
    tiktok_tracking_numbers,
    shopify_tracking_numbers,
    latest_shopify_fulfillment_at,
    {{ drift_columns([
        ('missing_in_shopify', 'is_missing_in_shopify'),
        ('orphan_in_shopify', 'is_orphan_in_shopify'),
        ('stuck_on_hold', 'is_stuck_on_hold'),
        ('cancel_not_mirrored', 'is_cancel_not_mirrored'),
        ('cancelled_in_shopify_only', 'is_cancelled_in_shopify_only'),
        ('tracking_not_pushed', 'is_tracking_not_pushed'),
        ('tracking_mismatch', 'is_tracking_mismatch'),
        ('amount_mismatch', 'is_amount_mismatch'),
        ('line_items_mismatch', 'is_line_items_mismatch'),
    ]) }},
    {{ as_of() }} as detected_at
from all_rows
