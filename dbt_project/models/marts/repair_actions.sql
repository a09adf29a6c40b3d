{#-
  The repair plan: one row per action that would bring the two platforms back in line, with the
  exact API input as payload and a deterministic action_id (action type + target + desired state)
  that the writeback ledger uses as its idempotency key. Shopify is the source of truth for
  stock, price and title; TikTok for order, cancel, return and refund state. No action moves
  money: anything about money becomes an alert (money_moving = true) for a person.

  Stock changes that repairs themselves cause (restocks, cancellations, mirrored returns) are
  planned in: TikTok's target quantity is computed from Shopify's stock after those repairs, so
  one cycle converges instead of leaving TikTok understated until the next.
-#}
{%- set approval_list = "'" ~ (var('actions_requiring_approval') | join("', '")) ~ "'" -%}
{%- set shipping_input = json_obj([('amount', 'cast(unmirrored.refund_shipping_fee as varchar)')]) -%}

with orders as (

    select * from {{ ref('fct_order_reconciliation') }}

),

refunds as (

    select * from {{ ref('fct_refund_reconciliation') }}

),

refund_details as (

    select * from {{ ref('int_refunds_unioned') }}

),

inventory as (

    select * from {{ ref('fct_inventory_drift') }}

),

payouts as (

    select * from {{ ref('fct_payout_reconciliation') }}

),

catalog as (

    select * from {{ ref('dim_catalog_health') }}

),

units as (

    select * from {{ ref('int_refund_units_mapped') }}

),

manual as (

    select connection_id, seller_sku from {{ ref('manual_mode_skus') }}

),

connections as (

    select * from {{ ref('stg_config__connections') }}

),

-- ---------------------------------------------------------------- cancel_shopify_order

cancel_targets as (

    select
        orders.connection_id,
        orders.tiktok_order_id,
        orders.shopify_order_id,
        (
            select max(c.tiktok_cancel_id) from refund_details as c
            where
                c.connection_id = orders.connection_id
                and c.tiktok_order_id = orders.tiktok_order_id
                and c.refund_kind = 'cancellation'
                and c.is_completed
        ) as tiktok_cancel_id
    from orders
    where orders.drift_type = 'cancel_not_mirrored'

),

cancel_actions as (

    select
        connection_id,
        'cancel_shopify_order' as action_type,
        'shopify' as target_platform,
        shopify_order_id as target_id,
        cast({{ json_obj([
            ('orderId', 'shopify_order_id'),
            ('reason', "'CUSTOMER'"),
            ('refund', 'false'),
            ('restock', 'true'),
            ('notifyCustomer', 'false'),
            ('staffNote', "'TikTok Shop cancellation ' || coalesce(tiktok_cancel_id, tiktok_order_id)"),
        ]) }} as varchar) as payload,
        'cancel_not_mirrored' as reason_drift_type,
        false as money_moving,
        'fct_order_reconciliation' as source_model,
        tiktok_order_id as source_key
    from cancel_targets

),

-- ---------------------------------------------------------------- record_refund_in_shopify

unmirrored as (

    select
        refunds.connection_id,
        refunds.refund_kind,
        coalesce(refunds.tiktok_return_id, refunds.tiktok_cancel_id) as tiktok_refund_id,
        refunds.tiktok_order_id,
        refunds.shopify_order_id,
        refunds.refund_type,
        refund_details.refund_shipping_fee,
        cancel_targets.shopify_order_id is not null as order_cancel_planned
    from refunds
    inner join refund_details
        on
            refunds.connection_id = refund_details.connection_id
            and coalesce(refunds.tiktok_return_id, refunds.tiktok_cancel_id) = refund_details.tiktok_refund_id
    left join cancel_targets
        on
            refunds.connection_id = cancel_targets.connection_id
            and refunds.tiktok_order_id = cancel_targets.tiktok_order_id
    where refunds.drift_type = 'refund_not_mirrored'

),

refund_lines as (

    select
        unmirrored.connection_id,
        unmirrored.tiktok_refund_id,
        units.shopify_line_item_id,
        units.shopify_inventory_item_id,
        units.shopify_location_id,
        units.units,
        case
            when unmirrored.refund_type = 'RETURN_AND_REFUND' then 'RETURN'
            else 'NO_RESTOCK'
        end as restock_type
    from unmirrored
    inner join units
        on unmirrored.connection_id = units.connection_id and unmirrored.tiktok_refund_id = units.tiktok_refund_id
    -- a planned cancellation already records the lines (with restock); only shipping is left
    where not unmirrored.order_cancel_planned and units.shopify_line_item_id is not null

),

refund_line_json as (

    select
        connection_id,
        tiktok_refund_id,
        {{ json_list(json_obj([
            ('lineItemId', 'shopify_line_item_id'),
            ('quantity', 'units'),
            ('restockType', 'restock_type'),
            ('locationId', "case when restock_type = 'RETURN' then shopify_location_id end"),
        ]), 'shopify_line_item_id') }} as refund_line_items
    from refund_lines
    group by 1, 2

),

record_refund_actions as (

    select
        unmirrored.connection_id,
        'record_refund_in_shopify' as action_type,
        'shopify' as target_platform,
        unmirrored.shopify_order_id as target_id,
        cast({{ json_obj([
            ('orderId', 'unmirrored.shopify_order_id'),
            ('note', "'TikTok Shop ' || unmirrored.refund_kind || ' ' || unmirrored.tiktok_refund_id"),
            ('notify', 'false'),
            ('refundLineItems', 'refund_line_json.refund_line_items'),
            ('shipping', "case when unmirrored.refund_shipping_fee > 0 then " ~ shipping_input ~ " end"),
        ]) }} as varchar) as payload,
        'refund_not_mirrored' as reason_drift_type,
        false as money_moving,
        'fct_refund_reconciliation' as source_model,
        unmirrored.tiktok_refund_id as source_key
    from unmirrored
    left join refund_line_json
        on
            unmirrored.connection_id = refund_line_json.connection_id
            and unmirrored.tiktok_refund_id = refund_line_json.tiktok_refund_id
    where refund_line_json.refund_line_items is not null or unmirrored.refund_shipping_fee > 0

),

-- ---------------------------------------------------------------- restock_shopify

restock_units as (

    select
        units.connection_id,
        units.tiktok_refund_id,
        units.shopify_order_id,
        units.shopify_inventory_item_id,
        units.shopify_location_id,
        sum(units.units - units.restocked_units) as units
    from units
    inner join refunds
        on units.connection_id = refunds.connection_id and units.tiktok_refund_id = refunds.tiktok_return_id
    where
        refunds.drift_type = 'missing_restock'
        and units.units > units.restocked_units
        and units.shopify_inventory_item_id is not null
        and units.shopify_location_id is not null
        and not exists (
            select 1
            from manual
            where manual.connection_id = units.connection_id and manual.seller_sku = units.seller_sku
        )
    group by 1, 2, 3, 4, 5

),

restock_levels as (

    select
        restock_units.*,
        coalesce(levels.available, 0) as available
    from restock_units
    left join {{ ref('stg_shopify__inventory_levels') }} as levels
        on
            restock_units.connection_id = levels.connection_id
            and restock_units.shopify_inventory_item_id = levels.shopify_inventory_item_id
            and restock_units.shopify_location_id = levels.shopify_location_id

),

restock_actions as (

    select
        connection_id,
        'restock_shopify' as action_type,
        'shopify' as target_platform,
        shopify_order_id as target_id,
        cast({{ json_obj([
            ('input', json_obj([
                ('name', "'available'"),
                ('reason', "'restock'"),
                ('referenceDocumentUri', "'shoptok://repair/restock/' || tiktok_refund_id"),
                ('quantities', json_list(json_obj([
                    ('inventoryItemId', 'shopify_inventory_item_id'),
                    ('locationId', 'shopify_location_id'),
                    ('quantity', 'available + units'),
                    ('compareQuantity', 'available'),
                ]), 'shopify_inventory_item_id')),
            ])),
            ('marker', json_obj([
                ('id', 'shopify_order_id'),
                ('tags', json_array_of("'shoptok_restocked:' || tiktok_refund_id")),
            ])),
        ]) }} as varchar) as payload,
        'missing_restock' as reason_drift_type,
        false as money_moving,
        'fct_refund_reconciliation' as source_model,
        tiktok_refund_id as source_key
    from restock_levels
    group by connection_id, tiktok_refund_id, shopify_order_id

),

-- ---------------------------------------------------------------- stock after repairs

stock_deltas as (

    select connection_id, shopify_inventory_item_id, shopify_location_id, sum(units) as delta
    from (
        select connection_id, shopify_inventory_item_id, shopify_location_id, units
        from refund_lines where restock_type = 'RETURN'
        union all
        select connection_id, shopify_inventory_item_id, shopify_location_id, units from restock_units
        union all
        select lines.connection_id, lines.shopify_inventory_item_id, lines.shopify_location_id, lines.remaining_quantity
        from {{ ref('int_shopify_lines_located') }} as lines
        inner join cancel_targets
            on
                lines.connection_id = cancel_targets.connection_id
                and lines.shopify_order_id = cancel_targets.shopify_order_id
    ) as moves
    where shopify_inventory_item_id is not null and shopify_location_id is not null
    group by 1, 2, 3

),

-- ---------------------------------------------------------------- set_tiktok_inventory

inventory_desired as (

    select
        inventory.*,
        case
            when inventory.shopify_variant_id is not null and inventory.shopify_location_id is not null
                then greatest(
                    0,
                    coalesce(inventory.shopify_available, 0) + coalesce(stock_deltas.delta, 0)
                    - inventory.in_flight_units - {{ var('inventory_safety_buffer') }}
                )
            else inventory.tiktok_available
        end as desired_quantity
    from inventory
    left join stock_deltas
        on
            inventory.connection_id = stock_deltas.connection_id
            and inventory.shopify_inventory_item_id = stock_deltas.shopify_inventory_item_id
            and inventory.shopify_location_id = stock_deltas.shopify_location_id
    where
        inventory.drift_type != 'sku_not_in_shopify'
        and not exists (
            select 1 from manual
            where manual.connection_id = inventory.connection_id and manual.seller_sku = inventory.seller_sku
        )

),

inventory_skus as (

    select
        connection_id,
        tiktok_product_id,
        tiktok_sku_id,
        min(case when drift_type in ('tiktok_overstated', 'tiktok_understated') then drift_type end) as drift_type,
        sum(case when desired_quantity != tiktok_available then 1 else 0 end) as changes,
        {{ json_list(json_obj([
            ('warehouse_id', 'tiktok_warehouse_id'),
            ('quantity', 'desired_quantity'),
        ]), 'tiktok_warehouse_id') }} as warehouses
    from inventory_desired
    group by 1, 2, 3

),

inventory_actions as (

    select
        connection_id,
        'set_tiktok_inventory' as action_type,
        'tiktok_shop' as target_platform,
        tiktok_sku_id as target_id,
        cast({{ json_obj([
            ('product_id', 'tiktok_product_id'),
            ('skus', json_array_of(json_obj([('id', 'tiktok_sku_id'), ('inventory', 'warehouses')]))),
        ]) }} as varchar) as payload,
        coalesce(drift_type, 'stock_follows_repair') as reason_drift_type,
        false as money_moving,
        'fct_inventory_drift' as source_model,
        tiktok_sku_id as source_key
    from inventory_skus
    where changes > 0

),

-- ---------------------------------------------------------------- push_tracking_to_tiktok

latest_fulfillment as (

    select
        connection_id,
        shopify_order_id,
        tracking_number,
        tracking_company,
        row_number()
            over (partition by connection_id, shopify_order_id order by created_at desc, tracking_number)
            as recency
    from {{ ref('stg_shopify__fulfillments') }}
    where coalesce(tracking_number, '') != ''

),

tracking_targets as (

    select
        orders.connection_id,
        orders.tiktok_order_id,
        latest_fulfillment.tracking_number,
        latest_fulfillment.tracking_company,
        providers.tiktok_shipping_provider_id,
        (
            select {{ json_list('lines.tiktok_line_item_id', 'lines.tiktok_line_item_id') }}
            from {{ ref('stg_tiktok_shop__order_line_items') }} as lines
            where
                lines.connection_id = orders.connection_id
                and lines.tiktok_order_id = orders.tiktok_order_id
                and coalesce(lines.tracking_number, '') = ''
        ) as line_item_ids
    from orders
    inner join latest_fulfillment
        on
            orders.connection_id = latest_fulfillment.connection_id
            and orders.shopify_order_id = latest_fulfillment.shopify_order_id
            and latest_fulfillment.recency = 1
    left join {{ ref('shipping_provider_map') }} as providers
        on
            orders.connection_id = providers.connection_id
            and latest_fulfillment.tracking_company = providers.shopify_tracking_company
    where orders.drift_type = 'tracking_not_pushed'

),

tracking_actions as (

    select
        connection_id,
        'push_tracking_to_tiktok' as action_type,
        'tiktok_shop' as target_platform,
        tiktok_order_id as target_id,
        cast({{ json_obj([
            ('order_id', 'tiktok_order_id'),
            ('tracking_number', 'tracking_number'),
            ('shipping_provider_id', 'cast(tiktok_shipping_provider_id as varchar)'),
            ('order_line_item_ids', 'line_item_ids'),
        ]) }} as varchar) as payload,
        'tracking_not_pushed' as reason_drift_type,
        false as money_moving,
        'fct_order_reconciliation' as source_model,
        tiktok_order_id as source_key
    from tracking_targets
    where tiktok_shipping_provider_id is not null

),

-- ---------------------------------------------------------------- set_tiktok_price

price_actions as (

    select
        catalog.connection_id,
        'set_tiktok_price' as action_type,
        'tiktok_shop' as target_platform,
        catalog.tiktok_sku_id as target_id,
        cast({{ json_obj([
            ('product_id', 'catalog.tiktok_product_id'),
            ('skus', json_array_of(json_obj([
                ('id', 'catalog.tiktok_sku_id'),
                ('price', json_obj([
                    ('amount', 'cast(catalog.shopify_price as varchar)'),
                    ('currency', 'connections.tiktok_currency'),
                ])),
            ]))),
        ]) }} as varchar) as payload,
        'price_mismatch' as reason_drift_type,
        false as money_moving,
        'dim_catalog_health' as source_model,
        catalog.tiktok_sku_id as source_key
    from catalog
    inner join connections on catalog.connection_id = connections.connection_id
    where
        {{ list_contains('catalog.violations', "'price_mismatch'") }}
        and not exists (
            select 1 from manual where manual.connection_id = catalog.connection_id and manual.seller_sku = catalog.sku
        )

),

-- ---------------------------------------------------------------- alerts

alert_rows as (

    select
        connection_id,
        case when drift_type = 'orphan_in_shopify' then 'shopify' else 'tiktok_shop' end as target_platform,
        coalesce(tiktok_order_id, shopify_order_id) as target_id,
        drift_type,
        drift_type = 'amount_mismatch' as money_moving,
        'fct_order_reconciliation' as source_model,
        coalesce(tiktok_order_id, shopify_order_id) as source_key,
        'order ' || coalesce(tiktok_order_id, shopify_order_id) || ': ' || drift_type as message
    from orders
    where
        drift_type in (
            'missing_in_shopify', 'orphan_in_shopify', 'stuck_on_hold', 'cancelled_in_shopify_only',
            'tracking_mismatch', 'amount_mismatch', 'line_items_mismatch'
        )
        or (
            drift_type = 'tracking_not_pushed'
            and tiktok_order_id not in (select t.target_id from tracking_actions as t)
        )
    union all
    select
        connection_id,
        'tiktok_shop' as target_platform,
        tiktok_sku_id || '@' || tiktok_warehouse_id as target_id,
        drift_type,
        false as money_moving,
        'fct_inventory_drift' as source_model,
        tiktok_sku_id || '@' || tiktok_warehouse_id as source_key,
        'TikTok SKU '
        || coalesce(seller_sku, tiktok_sku_id)
        || ' in warehouse '
        || tiktok_warehouse_id
        || ': '
        || drift_type as message
    from inventory
    where drift_type in ('sku_not_in_shopify', 'warehouse_unmapped')
    union all
    select
        connection_id,
        case when drift_type = 'refunded_in_shopify_only' then 'shopify' else 'tiktok_shop' end as target_platform,
        coalesce(tiktok_return_id, tiktok_cancel_id, shopify_refund_id) as target_id,
        drift_type,
        true as money_moving,
        'fct_refund_reconciliation' as source_model,
        coalesce(tiktok_return_id, tiktok_cancel_id, shopify_refund_id) as source_key,
        case
            when drift_type = 'refunded_in_shopify_only'
                then
                    'Shopify refund ' || shopify_refund_id || ' on TikTok order ' || tiktok_order_id
                    || ' never paid the buyer: refund it in TikTok Seller Center'
            when drift_type = 'decision_due'
                then
                    'TikTok return ' || coalesce(tiktok_return_id, tiktok_cancel_id) || ' auto-approves at '
                    || cast(decision_deadline as varchar) || ': decide it in Seller Center'
            else 'refund ' || coalesce(tiktok_return_id, tiktok_cancel_id, shopify_refund_id) || ': ' || drift_type
        end as message
    from refunds
    where drift_type in ('refunded_in_shopify_only', 'double_refund', 'amount_mismatch', 'decision_due')
    union all
    select
        connection_id,
        'tiktok_shop' as target_platform,
        tiktok_statement_id as target_id,
        drift_type,
        true as money_moving,
        'fct_payout_reconciliation' as source_model,
        tiktok_statement_id as source_key,
        'statement ' || tiktok_statement_id || ': ' || drift_type as message
    from payouts
    where drift_type != 'balanced'

),

alert_actions as (

    select
        connection_id,
        'alert' as action_type,
        target_platform,
        target_id,
        cast({{ json_obj([
            ('drift_type', 'drift_type'),
            ('source_model', 'source_model'),
            ('source_key', 'source_key'),
            ('message', 'message'),
        ]) }} as varchar) as payload,
        drift_type as reason_drift_type,
        money_moving,
        source_model,
        source_key
    from alert_rows

),

all_actions as (

    select * from cancel_actions
    union all
    select * from record_refund_actions
    union all
    select * from restock_actions
    union all
    select * from inventory_actions
    union all
    select * from tracking_actions
    union all
    select * from price_actions
    union all
    select * from alert_actions

)

select
    {{ dbt.hash("action_type || '|' || target_id || '|' || payload") }} as action_id,
    connection_id,
    action_type,
    target_platform,
    target_id,
    payload,
    reason_drift_type,
    money_moving,
    action_type in ({{ approval_list }}) as requires_approval,
    source_model,
    source_model || ':' || connection_id || ':' || source_key as source_row,
    {{ as_of() }} as detected_at
from all_actions
