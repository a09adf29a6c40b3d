"""Local emulators of the Shopify Admin GraphQL API and the TikTok Shop Open API (202309).

The product never imports this package, and this package never imports the product: clients reach
the sandbox only over HTTP, exactly as they reach the real platforms.
"""
