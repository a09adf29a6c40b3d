"""Extraction: dlt sources for the Shopify Admin GraphQL API and the TikTok Shop Open API.

Clients here are production clients. The sandbox is only their default endpoint and is reached
over HTTP like any other; nothing in ``extract`` imports ``sandbox``.
"""
