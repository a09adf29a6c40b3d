{#-
  Finance's weekly view, per connection × ISO week × currency, on two bases: settlement_date
  (when TikTok settled: ties to statements and bank payments) and order_date (when the buyer
  ordered: ties to Shopify sales). On the settlement basis, net settlement is Σ statement
  settlements to the cent; unexplained_difference is what the components do not account for.
-#}
with transactions as (

    select * from {{ ref('int_statement_transactions_classified') }}

),

statements as (

    select * from {{ ref('fct_payout_reconciliation') }}

),

payments as (

    select * from {{ ref('stg_tiktok_shop__payments') }}

),

tx_by_basis as (

    select
        'settlement_date' as basis,
        {{ dbt.date_trunc('week', 'statements.statement_time') }} as week_start,
        statements.currency as statement_currency,
        transactions.*
    from transactions
    inner join statements
        on
            transactions.connection_id = statements.connection_id
            and transactions.tiktok_statement_id = statements.tiktok_statement_id
    union all
    select
        'order_date' as basis,
        {{ dbt.date_trunc('week', 'transactions.order_date_basis_at') }} as week_start,
        statements.currency as statement_currency,
        transactions.*
    from transactions
    inner join statements
        on
            transactions.connection_id = statements.connection_id
            and transactions.tiktok_statement_id = statements.tiktok_statement_id

),

tx_weekly as (

    select
        tx.connection_id,
        tx.basis,
        tx.week_start,
        tx.statement_currency as currency,
        sum(case when tx.is_order then tx.shopify_total_price else 0 end) as shopify_gross_sales,
        sum(tx.revenue_amount) as tiktok_revenue,
        sum(coalesce(tx.platform_commission_amount, 0)) as platform_commission,
        sum(coalesce(tx.referral_fee_amount, 0)) as referral_fees,
        sum(coalesce(tx.transaction_fee_amount, 0)) as transaction_fees,
        sum(coalesce(tx.affiliate_commission_amount, 0)) as affiliate_commission,
        sum(tx.other_fee_amount) as other_fees,
        sum(tx.fee_amount) as total_fees,
        sum(tx.shipping_cost_amount) as shipping_costs,
        sum(coalesce(tx.customer_order_refund_amount, 0)) as refunds,
        sum(tx.chargeback_amount) as chargebacks,
        sum(tx.other_adjustment_amount) as other_adjustments,
        sum(tx.settlement_amount) as transactions_settlement,
        count(distinct case when tx.is_order then tx.tiktok_order_id end) as order_count,
        sum(case when tx.is_order_not_in_shopify or tx.is_revenue_mismatch then 1 else 0 end)
            as unreconciled_transactions
    from tx_by_basis as tx
    group by 1, 2, 3, 4

),

statement_weekly as (

    select
        connection_id,
        {{ dbt.date_trunc('week', 'statement_time') }} as week_start,
        currency,
        sum(statement_settlement_amount) as statements_settlement,
        sum(case when drift_type != 'balanced' then 1 else 0 end) as unreconciled_statements
    from statements
    group by 1, 2, 3

),

payment_weekly as (

    select
        connection_id,
        {{ dbt.date_trunc('week', 'paid_at') }} as week_start,
        currency,
        sum(amount) as paid_out,
        sum(case when reserve_amount < 0 then -reserve_amount else 0 end) as reserves_held,
        sum(case when reserve_amount > 0 then reserve_amount else 0 end) as reserves_released
    from payments
    where status = 'PAID'
    group by 1, 2, 3

),

weeks as (

    select connection_id, week_start, currency, basis from tx_weekly
    union
    select connection_id, week_start, currency, 'settlement_date' as basis from statement_weekly
    union
    select connection_id, week_start, currency, 'order_date' as basis from statement_weekly
    union
    select connection_id, week_start, currency, 'settlement_date' as basis from payment_weekly
    union
    select connection_id, week_start, currency, 'order_date' as basis from payment_weekly

),

assembled as (

    select
        weeks.connection_id,
        weeks.basis,
        weeks.week_start,
        weeks.currency,
        coalesce(tx.shopify_gross_sales, 0) as shopify_gross_sales,
        coalesce(tx.tiktok_revenue, 0) as tiktok_revenue,
        coalesce(tx.platform_commission, 0) as platform_commission,
        coalesce(tx.referral_fees, 0) as referral_fees,
        coalesce(tx.transaction_fees, 0) as transaction_fees,
        coalesce(tx.affiliate_commission, 0) as affiliate_commission,
        coalesce(tx.other_fees, 0) as other_fees,
        coalesce(tx.total_fees, 0) as total_fees,
        coalesce(tx.shipping_costs, 0) as shipping_costs,
        coalesce(tx.refunds, 0) as refunds,
        coalesce(tx.chargebacks, 0) as chargebacks,
        coalesce(tx.other_adjustments, 0) as other_adjustments,
        case when weeks.basis = 'settlement_date' then coalesce(pay.reserves_held, 0) else 0 end as reserves_held,
        case when weeks.basis = 'settlement_date' then coalesce(pay.reserves_released, 0) else 0 end
            as reserves_released,
        case
            when weeks.basis = 'settlement_date' then coalesce(st.statements_settlement, 0)
            else coalesce(tx.transactions_settlement, 0)
        end as net_settlement,
        case when weeks.basis = 'settlement_date' then coalesce(pay.paid_out, 0) else 0 end as paid_out,
        coalesce(tx.order_count, 0) as order_count,
        coalesce(tx.unreconciled_transactions, 0)
        + case when weeks.basis = 'settlement_date' then coalesce(st.unreconciled_statements, 0) else 0 end
            as unreconciled_count
    from weeks
    left join tx_weekly as tx
        on
            weeks.connection_id = tx.connection_id and weeks.basis = tx.basis
            and weeks.week_start = tx.week_start and weeks.currency = tx.currency
    left join statement_weekly as st
        on weeks.connection_id = st.connection_id and weeks.week_start = st.week_start and weeks.currency = st.currency
    left join payment_weekly as pay
        on
            weeks.connection_id = pay.connection_id
            and weeks.week_start = pay.week_start
            and weeks.currency = pay.currency

)

select
    connection_id,
    basis,
    cast(week_start as date) as week_start,
    cast(extract(isoyear from week_start) as integer) as iso_year,
    cast(extract(week from week_start) as integer) as iso_week,
    currency,
    cast(shopify_gross_sales as decimal(18, 2)) as shopify_gross_sales,
    cast(tiktok_revenue as decimal(18, 2)) as tiktok_revenue,
    cast(platform_commission as decimal(18, 2)) as platform_commission,
    cast(referral_fees as decimal(18, 2)) as referral_fees,
    cast(transaction_fees as decimal(18, 2)) as transaction_fees,
    cast(affiliate_commission as decimal(18, 2)) as affiliate_commission,
    cast(other_fees as decimal(18, 2)) as other_fees,
    cast(total_fees as decimal(18, 2)) as total_fees,
    cast(shipping_costs as decimal(18, 2)) as shipping_costs,
    cast(refunds as decimal(18, 2)) as refunds,
    cast(chargebacks as decimal(18, 2)) as chargebacks,
    cast(other_adjustments as decimal(18, 2)) as other_adjustments,
    cast(reserves_held as decimal(18, 2)) as reserves_held,
    cast(reserves_released as decimal(18, 2)) as reserves_released,
    cast(net_settlement as decimal(18, 2)) as net_settlement,
    cast(paid_out as decimal(18, 2)) as paid_out,
    cast(
        net_settlement - (tiktok_revenue + total_fees + shipping_costs + chargebacks + other_adjustments)
        as decimal(18, 2)
    ) as unexplained_difference,
    cast(order_count as bigint) as order_count,
    cast(unreconciled_count as bigint) as unreconciled_count
from assembled
