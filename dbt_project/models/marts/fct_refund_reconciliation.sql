{#-
  One row per TikTok return or cancellation carrying a refund, plus one per Shopify refund on a
  TikTok order that TikTok never refunded. A Shopify refund answers a TikTok refund when its note
  names the TikTok return or cancellation id (how the sales channel writes it).
-#}
{%- set restock_marker = "'shoptok_restocked:' || tiktok_refunds.tiktok_refund_id" -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        unique_key=['connection_id', 'tiktok_order_id'],
        on_schema_change='fail',
        pre_hook="{{ shoptok.incremental_prepare(['connection_id', 'tiktok_order_id'], time_rules=[('decision_deadline', var('refund_alert_horizon_hours'))]) }}",
        post_hook="{{ shoptok.incremental_finish(stamp_detected_at=true) }}",
    )
}}

with tiktok_refunds as (

    select * from {{ ref('int_refunds_unioned') }} as refunds
    where {{ shoptok.incremental_filter('refunds', ['connection_id', 'tiktok_order_id']) }}

),

orders as (

    select linked.connection_id, linked.tiktok_order_id, linked.shopify_order_id, shopify.tags_json as shopify_tags_json
    from {{ ref('int_tiktok_orders_linked') }} as linked
    left join {{ ref('int_shopify_orders_linked') }} as shopify
        on linked.connection_id = shopify.connection_id and linked.shopify_order_id = shopify.shopify_order_id
    where {{ shoptok.incremental_filter('linked', ['connection_id', 'tiktok_order_id']) }}

),

shopify_refunds as (

    select * from {{ ref('int_shopify_refunds_amounted') }}

),

matched as (

    select
        tiktok_refunds.connection_id,
        tiktok_refunds.tiktok_refund_id,
        count(shopify_refunds.shopify_refund_id) as matched_refunds,
        min(shopify_refunds.shopify_refund_id) as shopify_refund_id,
        sum(shopify_refunds.refund_amount) as shopify_refund_amount,
        sum(shopify_refunds.restocked_units) as shopify_restocked_units
    from tiktok_refunds
    inner join orders
        on
            tiktok_refunds.connection_id = orders.connection_id
            and tiktok_refunds.tiktok_order_id = orders.tiktok_order_id
    inner join shopify_refunds
        on
            orders.connection_id = shopify_refunds.connection_id
            and orders.shopify_order_id = shopify_refunds.shopify_order_id
            and {{ dbt.position('tiktok_refunds.tiktok_refund_id', "coalesce(shopify_refunds.note, '')") }} > 0
    group by 1, 2

),

order_totals as (

    select
        orders.connection_id,
        orders.tiktok_order_id,
        (
            select coalesce(sum(s.refund_amount), 0) from shopify_refunds as s
            where s.connection_id = orders.connection_id and s.shopify_order_id = orders.shopify_order_id
        ) as shopify_refunded_on_order,
        (
            select coalesce(sum(t.refund_total), 0) from tiktok_refunds as t
            where
                t.connection_id = orders.connection_id
                and t.tiktok_order_id = orders.tiktok_order_id
                and t.is_completed
        ) as tiktok_refunded_on_order
    from orders
    where orders.shopify_order_id is not null

),

tiktok_rows as (

    select
        tiktok_refunds.connection_id,
        tiktok_refunds.tiktok_return_id,
        tiktok_refunds.tiktok_cancel_id,
        tiktok_refunds.refund_kind,
        tiktok_refunds.tiktok_order_id,
        orders.shopify_order_id,
        matched.shopify_refund_id,
        tiktok_refunds.refund_type,
        tiktok_refunds.refund_status,
        tiktok_refunds.created_at as requested_at,
        {{ dbt.dateadd('day', var('refund_decision_window_days'), 'tiktok_refunds.created_at') }} as decision_deadline,
        tiktok_refunds.currency,
        tiktok_refunds.refund_total as tiktok_refund_amount,
        coalesce(matched.shopify_refund_amount, 0) as shopify_refund_amount,
        tiktok_refunds.refunded_units as tiktok_refunded_units,
        coalesce(matched.shopify_restocked_units, 0) as shopify_restocked_units,
        coalesce(matched.matched_refunds, 0) as shopify_refund_count,
        order_totals.shopify_refunded_on_order,
        order_totals.tiktok_refunded_on_order,
        tiktok_refunds.is_completed,
        tiktok_refunds.is_pending,
        -- a restock repair tags the order, because the refund record itself cannot be edited
        {{ dbt.position(restock_marker, "coalesce(orders.shopify_tags_json, '')") }} > 0 as is_restock_repaired
    from tiktok_refunds
    left join orders
        on
            tiktok_refunds.connection_id = orders.connection_id
            and tiktok_refunds.tiktok_order_id = orders.tiktok_order_id
    left join matched
        on
            tiktok_refunds.connection_id = matched.connection_id
            and tiktok_refunds.tiktok_refund_id = matched.tiktok_refund_id
    left join order_totals
        on
            tiktok_refunds.connection_id = order_totals.connection_id
            and tiktok_refunds.tiktok_order_id = order_totals.tiktok_order_id

),

tiktok_rules as (

    select
        tiktok_rows.*,
        (is_completed and shopify_order_id is not null and shopify_refund_count = 0) as is_refund_not_mirrored,
        false as is_refunded_in_shopify_only,
        (
            is_completed and shopify_order_id is not null
            and shopify_refunded_on_order - tiktok_refunded_on_order > {{ var('money_tolerance') }}
        ) as is_double_refund,
        (
            is_completed and shopify_refund_count > 0 and refund_kind = 'return'
            and refund_type = 'RETURN_AND_REFUND' and shopify_restocked_units < tiktok_refunded_units
            and not is_restock_repaired
        ) as is_missing_restock,
        (shopify_refund_count > 0 and abs(shopify_refund_amount - tiktok_refund_amount) > {{ var('money_tolerance') }})
            as is_amount_mismatch,
        (
            is_pending
            and decision_deadline <= {{ dbt.dateadd('hour', var('refund_alert_horizon_hours'), as_of()) }}
        ) as is_decision_due
    from tiktok_rows

),

shopify_only as (

    select
        shopify_refunds.connection_id,
        cast(null as varchar) as tiktok_return_id,
        cast(null as varchar) as tiktok_cancel_id,
        'shopify_refund' as refund_kind,
        orders.tiktok_order_id,
        shopify_refunds.shopify_order_id,
        shopify_refunds.shopify_refund_id,
        cast(null as varchar) as refund_type,
        cast(null as varchar) as refund_status,
        shopify_refunds.created_at as requested_at,
        cast(null as {{ dbt.type_timestamp() }}) as decision_deadline,
        cast(null as varchar) as currency,
        cast(0 as decimal(18, 2)) as tiktok_refund_amount,
        shopify_refunds.refund_amount as shopify_refund_amount,
        cast(0 as bigint) as tiktok_refunded_units,
        shopify_refunds.restocked_units as shopify_restocked_units,
        cast(1 as bigint) as shopify_refund_count,
        cast(null as decimal(18, 2)) as shopify_refunded_on_order,
        cast(0 as decimal(18, 2)) as tiktok_refunded_on_order,
        false as is_completed,
        false as is_pending,
        false as is_restock_repaired,
        false as is_refund_not_mirrored,
        true as is_refunded_in_shopify_only,
        false as is_double_refund,
        false as is_missing_restock,
        false as is_amount_mismatch,
        false as is_decision_due
    from shopify_refunds
    inner join orders
        on
            shopify_refunds.connection_id = orders.connection_id
            and shopify_refunds.shopify_order_id = orders.shopify_order_id
    where not exists (
        select 1 from tiktok_refunds as t
        where t.connection_id = orders.connection_id and t.tiktok_order_id = orders.tiktok_order_id
    )

),

all_rows as (

    select * from tiktok_rules
    union all
    select * from shopify_only

)

select
    connection_id,
    tiktok_return_id,
    tiktok_cancel_id,
    refund_kind,
    tiktok_order_id,
    shopify_order_id,
    shopify_refund_id,
    refund_type,
    refund_status,
    requested_at,
    decision_deadline,
    currency,
    cast(tiktok_refund_amount as decimal(18, 2)) as tiktok_refund_amount,
    cast(shopify_refund_amount as decimal(18, 2)) as shopify_refund_amount,
    cast(tiktok_refunded_units as bigint) as tiktok_refunded_units,
    cast(shopify_restocked_units as bigint) as shopify_restocked_units,
    cast(shopify_refund_count as bigint) as shopify_refund_count,
    {{ drift_columns([
        ('refund_not_mirrored', 'is_refund_not_mirrored'),
        ('refunded_in_shopify_only', 'is_refunded_in_shopify_only'),
        ('double_refund', 'is_double_refund'),
        ('missing_restock', 'is_missing_restock'),
        ('amount_mismatch', 'is_amount_mismatch'),
        ('decision_due', 'is_decision_due'),
    ]) }},
    {{ as_of() }} as detected_at
from all_rows
