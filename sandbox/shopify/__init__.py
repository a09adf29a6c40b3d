"""Shopify Admin GraphQL API emulator."""
