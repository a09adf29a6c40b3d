{#-
  One row per Shopify variant, plus one per TikTok SKU that matches no Shopify variant. Violations
  are what would stop (or spoil) the listing on TikTok; Shopify is the source of truth for title,
  price and stock, so every fix hint points at Shopify.
-#}
with variants as (

    select
        *,
        count(*) over (partition by connection_id, sku) as variants_with_sku
    from {{ ref('stg_shopify__product_variants') }}

),

products as (

    select * from {{ ref('stg_shopify__products') }}

),

tiktok_skus as (

    select * from {{ ref('int_skus_mapped') }}

),

tiktok_products as (

    select * from {{ ref('stg_tiktok_shop__products') }}

),

shopify_rows as (

    select
        variants.connection_id,
        variants.shopify_variant_id,
        variants.shopify_product_id,
        variants.sku,
        coalesce(nullif(products.tiktok_title, ''), products.title) as listing_title,
        products.title as shopify_title,
        variants.price as shopify_price,
        tiktok_skus.tiktok_sku_id,
        tiktok_skus.tiktok_product_id,
        tiktok_skus.tiktok_price,
        tiktok_products.title as tiktok_title,
        tiktok_products.status as tiktok_status,
        products.media_count,
        variants.weight_value,
        products.package_dimensions,
        coalesce(variants.sku, '') = '' as is_missing_sku,
        coalesce(variants.sku, '') != '' and variants.variants_with_sku > 1 as is_duplicate_sku
    from variants
    inner join products
        on variants.connection_id = products.connection_id and variants.shopify_product_id = products.shopify_product_id
    left join tiktok_skus
        on
            variants.connection_id = tiktok_skus.connection_id
            and variants.shopify_variant_id = tiktok_skus.shopify_variant_id
    left join tiktok_products
        on
            tiktok_skus.connection_id = tiktok_products.connection_id
            and tiktok_skus.tiktok_product_id = tiktok_products.tiktok_product_id

),

checked as (

    select
        shopify_rows.*,
        {{ dbt.length('listing_title') }} > {{ var('title_max_length') }} as is_title_too_long,
        {{ dbt.length('listing_title') }} < {{ var('title_min_length') }} as is_title_too_short,
        coalesce(media_count, 0) = 0 as is_missing_image,
        weight_value is null as is_missing_weight,
        weight_value = 0 as is_zero_weight,
        coalesce(package_dimensions, '') = '' as is_missing_dimensions,
        tiktok_sku_id is null as is_not_listed,
        tiktok_sku_id is not null and tiktok_price != shopify_price as is_price_mismatch,
        tiktok_sku_id is not null and tiktok_title != listing_title as is_title_diverged,
        tiktok_sku_id is not null and tiktok_status = 'FAILED' as is_status_failed,
        tiktok_sku_id is not null and tiktok_status = 'DRAFT' as is_status_draft
    from shopify_rows

),

shopify_final as (

    select
        connection_id,
        shopify_variant_id,
        shopify_product_id,
        tiktok_sku_id,
        tiktok_product_id,
        sku,
        listing_title,
        shopify_price,
        tiktok_price,
        tiktok_status,
        case when tiktok_sku_id is null then 'not_listed' else lower(tiktok_status) end as listing_status,
        {{ shoptok.flag_list([
            ('title_too_long', 'is_title_too_long'),
            ('title_too_short', 'is_title_too_short'),
            ('missing_image', 'is_missing_image'),
            ('missing_weight', 'is_missing_weight'),
            ('zero_weight', 'is_zero_weight'),
            ('missing_dimensions', 'is_missing_dimensions'),
            ('missing_sku', 'is_missing_sku'),
            ('duplicate_sku', 'is_duplicate_sku'),
            ('price_mismatch', 'is_price_mismatch'),
            ('title_diverged', 'is_title_diverged'),
            ('not_listed_on_tiktok', 'is_not_listed'),
            ('tiktok_status_failed', 'is_status_failed'),
            ('tiktok_status_draft', 'is_status_draft'),
        ]) }} as violations
    from checked

),

tiktok_only as (

    select
        tiktok_skus.connection_id,
        cast(null as varchar) as shopify_variant_id,
        cast(null as varchar) as shopify_product_id,
        tiktok_skus.tiktok_sku_id,
        tiktok_skus.tiktok_product_id,
        tiktok_skus.seller_sku as sku,
        tiktok_products.title as listing_title,
        cast(null as decimal(18, 2)) as shopify_price,
        tiktok_skus.tiktok_price,
        tiktok_products.status as tiktok_status,
        'tiktok_only' as listing_status,
        {{ shoptok.flag_list([]) }} as violations
    from tiktok_skus
    left join tiktok_products
        on
            tiktok_skus.connection_id = tiktok_products.connection_id
            and tiktok_skus.tiktok_product_id = tiktok_products.tiktok_product_id
    where tiktok_skus.shopify_variant_id is null

)

select
    *,
    {{ list_size('violations') }} = 0 as is_publishable,
    {{ as_of() }} as detected_at
from (
    select * from shopify_final
    union all
    select * from tiktok_only
) as all_rows
