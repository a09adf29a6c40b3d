"""Request signing as documented for 202309 (reference §1, "Signing").

``sign = hex(HMAC_SHA256(app_secret, app_secret + path + sorted(k+v) + body + app_secret))`` over
every query parameter except ``sign`` and ``access_token``; the body is left out for
``multipart/form-data``.  The tests compute the signature with their own copy of this algorithm.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EXCLUDED_PARAMS = frozenset({"sign", "access_token"})


def signature(secret: str, path: str, params: Mapping[str, str], body: bytes, content_type: str = "") -> str:
    parts = [path.encode()]
    for key in sorted(params):
        if key in EXCLUDED_PARAMS:
            continue
        parts.append(key.encode())
        parts.append(str(params[key]).encode())
    if not content_type.lower().startswith("multipart/form-data"):
        parts.append(body)
    key = secret.encode()
    message = key + b"".join(parts) + key
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_matches(secret: str, given: str, path: str, params: Mapping[str, str], body: bytes, ctype: str) -> bool:
    return hmac.compare_digest(signature(secret, path, params, body, ctype), given)
