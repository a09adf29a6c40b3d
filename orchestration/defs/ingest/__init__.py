"""Raw data: dlt extraction of Shopify, TikTok Shop and the merchant config, partitioned by connection × day."""
