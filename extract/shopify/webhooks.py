"""Verify Shopify webhook deliveries: a helper for merchants who receive webhooks themselves.

The pipeline itself polls the Admin API and receives no webhooks. Who forwards Shopify webhooks
into it (or into anything else) must check each delivery before trusting it: Shopify signs the
raw request body with the app's client secret (HMAC-SHA256) and sends the base64 digest in the
``X-Shopify-Hmac-Sha256`` header. The check must run on the *raw* bytes (not re-serialized JSON)
and compare in constant time, or the time a comparison takes leaks how much of a forged
signature was right.

```python
from extract.shopify.webhooks import verify_webhook

if not verify_webhook(request.body, request.headers["X-Shopify-Hmac-Sha256"], secret):
    return 401
```
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HMAC_HEADER = "X-Shopify-Hmac-Sha256"


def webhook_hmac(body: bytes, secret: str) -> str:
    """The header value Shopify sends for ``body``: base64 of HMAC-SHA256(secret, body)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(body: bytes, hmac_header: str | None, secret: str) -> bool:
    """True when ``hmac_header`` is Shopify's signature of exactly ``body`` under ``secret``.

    Never raises on hostile input: a missing, empty, non-ASCII or non-base64 header is simply
    not a valid signature. An empty secret verifies nothing (a misconfiguration must not accept
    every delivery).
    """
    if not secret or not hmac_header or not isinstance(body, bytes | bytearray):
        return False
    try:
        given = base64.b64decode(hmac_header.strip().encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return False
    expected = hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)
