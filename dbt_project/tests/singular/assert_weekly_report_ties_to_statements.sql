-- On the settlement basis Σ net settlement equals Σ statement settlements, and on the order basis
-- Σ net settlement equals Σ transaction settlements, per connection and currency, to the cent.
with report as (
    select connection_id, currency, basis, sum(net_settlement) as net_settlement
    from {{ ref('rpt_weekly_payout_reconciliation') }}
    group by 1, 2, 3
),

statements as (
    select connection_id, currency, 'settlement_date' as basis, sum(settlement_amount) as total
    from {{ ref('stg_tiktok_shop__statements') }}
    group by 1, 2, 3
    union all
    select s.connection_id, s.currency, 'order_date' as basis, sum(t.settlement_amount) as total
    from {{ ref('stg_tiktok_shop__statement_transactions') }} as t
    inner join {{ ref('stg_tiktok_shop__statements') }} as s
        on t.connection_id = s.connection_id and t.tiktok_statement_id = s.tiktok_statement_id
    group by 1, 2, 3
)

select
    coalesce(r.connection_id, s.connection_id) as connection_id,
    coalesce(r.currency, s.currency) as currency,
    coalesce(r.basis, s.basis) as basis,
    r.net_settlement,
    s.total
from report as r
full outer join statements as s
    on r.connection_id = s.connection_id and r.currency = s.currency and r.basis = s.basis
where coalesce(r.net_settlement, 0) != coalesce(s.total, 0)
