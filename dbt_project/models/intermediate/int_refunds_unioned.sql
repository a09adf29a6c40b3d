{#-
  TikTok returns and cancellations that carry a refund, as one list: both are refunds the buyer
  gets from TikTok, and both must show up in Shopify once the order was mirrored.
-#}
with returns as (

    select
        connection_id,
        tiktok_return_id,
        cast(null as varchar) as tiktok_cancel_id,
        tiktok_return_id as tiktok_refund_id,
        'return' as refund_kind,
        tiktok_order_id,
        return_type as refund_type,
        return_status as refund_status,
        return_status = 'RETURN_OR_REFUND_REQUEST_COMPLETE' as is_completed,
        return_status = 'RETURN_OR_REFUND_REQUEST_PENDING' as is_pending,
        created_at,
        updated_at,
        currency,
        refund_total,
        refund_subtotal,
        refund_shipping_fee
    from {{ ref('stg_tiktok_shop__returns') }}

),

cancellations as (

    select
        connection_id,
        cast(null as varchar) as tiktok_return_id,
        tiktok_cancel_id,
        tiktok_cancel_id as tiktok_refund_id,
        'cancellation' as refund_kind,
        tiktok_order_id,
        cancel_type as refund_type,
        cancel_status as refund_status,
        cancel_status = 'CANCELLATION_REQUEST_COMPLETE' as is_completed,
        cancel_status = 'CANCELLATION_REQUEST_PENDING' as is_pending,
        created_at,
        updated_at,
        currency,
        refund_total,
        refund_subtotal,
        refund_shipping_fee
    from {{ ref('stg_tiktok_shop__cancellations') }}
    where refund_total > 0

),

unit_counts as (

    select connection_id, tiktok_return_id as tiktok_refund_id, count(*) as units
    from {{ ref('stg_tiktok_shop__return_line_items') }}
    group by 1, 2
    union all
    select connection_id, tiktok_cancel_id as tiktok_refund_id, count(*) as units
    from {{ ref('stg_tiktok_shop__cancellation_line_items') }}
    group by 1, 2

),

unioned as (

    select * from returns
    union all
    select * from cancellations

)

select
    unioned.*,
    coalesce(unit_counts.units, 0) as refunded_units
from unioned
left join unit_counts
    on unioned.connection_id = unit_counts.connection_id and unioned.tiktok_refund_id = unit_counts.tiktok_refund_id
