-- A payment's amount equals Σ settlements of the statements it pays plus its reserve movement, to
-- the cent, unless every statement it pays is flagged (statement_mismatch or payment_mismatch).
with statements as (
    select connection_id, tiktok_payment_id, sum(settlement_amount) as settlement
    from {{ ref('stg_tiktok_shop__statements') }}
    where coalesce(tiktok_payment_id, '') != ''
    group by 1, 2
),

payments as (
    select connection_id, tiktok_payment_id, amount, reserve_amount from {{ ref('stg_tiktok_shop__payments') }}
),

flagged as (
    select connection_id, tiktok_payment_id, min(drift_type) as any_drift, max(drift_type) as other_drift
    from {{ ref('fct_payout_reconciliation') }}
    where tiktok_payment_id is not null
    group by 1, 2
)

select p.connection_id, p.tiktok_payment_id, p.amount, s.settlement, p.reserve_amount, f.any_drift
from payments as p
full outer join statements as s
    on p.connection_id = s.connection_id and p.tiktok_payment_id = s.tiktok_payment_id
left join flagged as f
    on
        coalesce(p.connection_id, s.connection_id) = f.connection_id
        and coalesce(p.tiktok_payment_id, s.tiktok_payment_id) = f.tiktok_payment_id
where
    p.tiktok_payment_id is not null
    and s.tiktok_payment_id is not null
    and p.amount != s.settlement + coalesce(p.reserve_amount, 0)
    and not (
        f.any_drift in ('payment_mismatch', 'statement_mismatch')
        and f.other_drift in ('payment_mismatch', 'statement_mismatch')
    )
