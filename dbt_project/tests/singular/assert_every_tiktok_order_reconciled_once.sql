-- Every TikTok order appears exactly once in fct_order_reconciliation.
select o.connection_id, o.tiktok_order_id, count(f.tiktok_order_id) as rows_in_mart
from {{ ref('stg_tiktok_shop__orders') }} as o
left join {{ ref('fct_order_reconciliation') }} as f
    on o.connection_id = f.connection_id and o.tiktok_order_id = f.tiktok_order_id and f.tiktok_status is not null
group by 1, 2
having count(f.tiktok_order_id) != 1
