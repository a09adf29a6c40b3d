{#-
  TikTok SKUs mapped to Shopify variants: by default the seller SKU is the Shopify variant SKU; the
  sku_map_overrides seed maps a seller SKU to another Shopify SKU. A Shopify SKU shared by several
  variants maps to none (it cannot say which), and shows as duplicate_sku in catalog health.
-#}
with tiktok_skus as (

    select * from {{ ref('stg_tiktok_shop__skus') }}

),

overrides as (

    select connection_id, tiktok_seller_sku, shopify_sku from {{ ref('sku_map_overrides') }}

),

variants as (

    select
        *,
        count(*) over (partition by connection_id, sku) as variants_with_sku
    from {{ ref('stg_shopify__product_variants') }}
    where coalesce(sku, '') != ''

)

select
    tiktok_skus.connection_id,
    tiktok_skus.tiktok_sku_id,
    tiktok_skus.tiktok_product_id,
    tiktok_skus.seller_sku,
    tiktok_skus.sale_price as tiktok_price,
    coalesce(overrides.shopify_sku, tiktok_skus.seller_sku) as shopify_sku,
    variants.shopify_variant_id,
    variants.shopify_product_id,
    variants.shopify_inventory_item_id,
    variants.price as shopify_price
from tiktok_skus
left join overrides
    on tiktok_skus.connection_id = overrides.connection_id and tiktok_skus.seller_sku = overrides.tiktok_seller_sku
left join variants
    on
        tiktok_skus.connection_id = variants.connection_id
        and coalesce(overrides.shopify_sku, tiktok_skus.seller_sku) = variants.sku
        and variants.variants_with_sku = 1
