"""Shopify Admin GraphQL extraction: client (pacing, paging, writes), bulk operations, dlt source."""

from extract.shopify.client import ShopifyClient
from extract.shopify.source import shopify_source

__all__ = ["ShopifyClient", "shopify_source"]
