-- Every statement's settlement equals Σ its transactions to the cent, unless the mart flags it
-- statement_mismatch; and every statement (and every transaction's statement) is in the mart.
with transactions as (
    select connection_id, tiktok_statement_id, sum(settlement_amount) as settlement
    from {{ ref('stg_tiktok_shop__statement_transactions') }}
    group by 1, 2
),

statements as (
    select connection_id, tiktok_statement_id, settlement_amount from {{ ref('stg_tiktok_shop__statements') }}
),

mart as (
    select connection_id, tiktok_statement_id, drift_type from {{ ref('fct_payout_reconciliation') }}
)

select
    coalesce(s.connection_id, t.connection_id) as connection_id,
    coalesce(s.tiktok_statement_id, t.tiktok_statement_id) as tiktok_statement_id,
    s.settlement_amount,
    t.settlement,
    m.drift_type
from statements as s
full outer join transactions as t
    on s.connection_id = t.connection_id and s.tiktok_statement_id = t.tiktok_statement_id
left join mart as m
    on
        coalesce(s.connection_id, t.connection_id) = m.connection_id
        and coalesce(s.tiktok_statement_id, t.tiktok_statement_id) = m.tiktok_statement_id
where
    m.tiktok_statement_id is null
    or (coalesce(s.settlement_amount, 0) != coalesce(t.settlement, 0) and m.drift_type != 'statement_mismatch')
