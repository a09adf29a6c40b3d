{#-
  One row per TikTok statement: its header against the sum of its transactions by component, the
  payment that paid it against the statements it pays, and order-level checks against Shopify.
-#}
with statements as (

    select * from {{ ref('stg_tiktok_shop__statements') }}

),

transactions as (

    select * from {{ ref('int_statement_transactions_classified') }}

),

payments as (

    select * from {{ ref('stg_tiktok_shop__payments') }}

),

sums as (

    select
        connection_id,
        tiktok_statement_id,
        count(*) as transaction_count,
        sum(case when is_order then 1 else 0 end) as order_transaction_count,
        sum(settlement_amount) as transactions_settlement_amount,
        sum(revenue_amount) as revenue_amount,
        sum(coalesce(platform_commission_amount, 0)) as platform_commission_amount,
        sum(coalesce(referral_fee_amount, 0)) as referral_fee_amount,
        sum(coalesce(transaction_fee_amount, 0)) as transaction_fee_amount,
        sum(coalesce(affiliate_commission_amount, 0)) as affiliate_commission_amount,
        sum(other_fee_amount) as other_fee_amount,
        sum(fee_amount) as fee_amount,
        sum(shipping_cost_amount) as shipping_cost_amount,
        sum(coalesce(customer_order_refund_amount, 0)) as refund_amount,
        sum(other_adjustment_amount) as adjustment_amount,
        sum(chargeback_amount) as chargeback_amount,
        sum(case when is_order_not_in_shopify then 1 else 0 end) as orders_not_in_shopify,
        sum(case when is_revenue_mismatch then 1 else 0 end) as revenue_mismatches
    from transactions
    group by 1, 2

),

payment_totals as (

    select connection_id, tiktok_payment_id, sum(settlement_amount) as statements_settlement_amount
    from statements
    where tiktok_payment_id is not null and tiktok_payment_id != ''
    group by 1, 2

),

joined as (

    select
        statements.connection_id,
        statements.tiktok_statement_id,
        statements.statement_time,
        statements.currency,
        statements.settlement_amount as statement_settlement_amount,
        coalesce(sums.transactions_settlement_amount, 0) as transactions_settlement_amount,
        statements.settlement_amount - coalesce(sums.transactions_settlement_amount, 0) as statement_difference,
        coalesce(sums.transaction_count, 0) as transaction_count,
        coalesce(sums.order_transaction_count, 0) as order_transaction_count,
        coalesce(sums.revenue_amount, 0) as revenue_amount,
        coalesce(sums.platform_commission_amount, 0) as platform_commission_amount,
        coalesce(sums.referral_fee_amount, 0) as referral_fee_amount,
        coalesce(sums.transaction_fee_amount, 0) as transaction_fee_amount,
        coalesce(sums.affiliate_commission_amount, 0) as affiliate_commission_amount,
        coalesce(sums.other_fee_amount, 0) as other_fee_amount,
        coalesce(sums.fee_amount, 0) as fee_amount,
        coalesce(sums.shipping_cost_amount, 0) as shipping_cost_amount,
        coalesce(sums.refund_amount, 0) as refund_amount,
        coalesce(sums.adjustment_amount, 0) as adjustment_amount,
        coalesce(sums.chargeback_amount, 0) as chargeback_amount,
        statements.payment_status,
        nullif(statements.tiktok_payment_id, '') as tiktok_payment_id,
        payments.status as payment_record_status,
        payments.amount as payment_amount,
        payments.reserve_amount as payment_reserve_amount,
        payment_totals.statements_settlement_amount as payment_statements_settlement_amount,
        payments.amount - (payment_totals.statements_settlement_amount + coalesce(payments.reserve_amount, 0))
            as payment_difference,
        coalesce(sums.orders_not_in_shopify, 0) as orders_not_in_shopify,
        coalesce(sums.revenue_mismatches, 0) as revenue_mismatches
    from statements
    left join sums
        on statements.connection_id = sums.connection_id and statements.tiktok_statement_id = sums.tiktok_statement_id
    left join payments
        on
            statements.connection_id = payments.connection_id
            and statements.tiktok_payment_id = payments.tiktok_payment_id
    left join payment_totals
        on
            statements.connection_id = payment_totals.connection_id
            and statements.tiktok_payment_id = payment_totals.tiktok_payment_id

),

ruled as (

    select
        joined.*,
        abs(statement_difference) > {{ var('money_tolerance') }} as is_statement_mismatch,
        (payment_amount is not null and abs(payment_difference) > {{ var('money_tolerance') }}) as is_payment_mismatch,
        (
            payment_status != 'PAID'
            and statement_time < {{ dbt.dateadd('day', -1 * var('unpaid_statement_days'), as_of()) }}
        ) as is_unpaid,
        orders_not_in_shopify > 0 as is_order_not_in_shopify,
        revenue_mismatches > 0 as is_revenue_mismatch
    from joined

)

select
    connection_id,
    tiktok_statement_id,
    statement_time,
    currency,
    statement_settlement_amount,
    cast(transactions_settlement_amount as decimal(18, 2)) as transactions_settlement_amount,
    cast(statement_difference as decimal(18, 2)) as statement_difference,
    cast(transaction_count as bigint) as transaction_count,
    cast(order_transaction_count as bigint) as order_transaction_count,
    cast(revenue_amount as decimal(18, 2)) as revenue_amount,
    cast(platform_commission_amount as decimal(18, 2)) as platform_commission_amount,
    cast(referral_fee_amount as decimal(18, 2)) as referral_fee_amount,
    cast(transaction_fee_amount as decimal(18, 2)) as transaction_fee_amount,
    cast(affiliate_commission_amount as decimal(18, 2)) as affiliate_commission_amount,
    cast(other_fee_amount as decimal(18, 2)) as other_fee_amount,
    cast(fee_amount as decimal(18, 2)) as fee_amount,
    cast(shipping_cost_amount as decimal(18, 2)) as shipping_cost_amount,
    cast(refund_amount as decimal(18, 2)) as refund_amount,
    cast(adjustment_amount as decimal(18, 2)) as adjustment_amount,
    cast(chargeback_amount as decimal(18, 2)) as chargeback_amount,
    payment_status,
    tiktok_payment_id,
    payment_amount,
    payment_reserve_amount,
    cast(payment_statements_settlement_amount as decimal(18, 2)) as payment_statements_settlement_amount,
    cast(payment_difference as decimal(18, 2)) as payment_difference,
    cast(orders_not_in_shopify as bigint) as orders_not_in_shopify,
    cast(revenue_mismatches as bigint) as revenue_mismatches,
    {{ drift_columns([
        ('statement_mismatch', 'is_statement_mismatch'),
        ('payment_mismatch', 'is_payment_mismatch'),
        ('unpaid', 'is_unpaid'),
        ('order_not_in_shopify', 'is_order_not_in_shopify'),
        ('revenue_mismatch', 'is_revenue_mismatch'),
    ], ok='balanced') }},
    {{ as_of() }} as detected_at
from ruled
