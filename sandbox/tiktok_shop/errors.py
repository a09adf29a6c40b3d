"""The TikTok envelope's error codes, and the exception handlers raise to answer with one.

Gateway codes follow the reference's common-error table. The business codes (``2101100x``,
``1205200x``, ``25001001``, ``22001001``) are sandbox choices: the public docs do not list them,
so clients should key on ``code != 0`` plus the message, never on these exact numbers.
"""

from __future__ import annotations

from typing import Any

OK = 0
# gateway (reference §1, "Error codes")
TOO_MANY_REQUESTS = 36009002
#: the gateway's catch-all: bad app_key, timestamp out of window, missing sign, unknown token,
#: unexpected shop_cipher -- and, in this sandbox, every invalid request parameter
INVALID_REQUEST = 36009004
INTERNAL_ERROR = 36009007
INVALID_PATH = 36009009
INVALID_METHOD = 36009010
SHOP_MISMATCH = 101000
TOKEN_EXPIRED = 105002
INVALID_SIGN = 106001
MISSING_SHOP_CIPHER = 106013

# business errors (sandbox-chosen numbers)
ORDER_NOT_FOUND = 21011001
ORDER_STATUS_CONFLICT = 21011002
LINE_ITEM_INVALID = 21011003
SHIPPING_PROVIDER_INVALID = 21011004
PRODUCT_NOT_FOUND = 12052001
SKU_NOT_FOUND = 12052002
WAREHOUSE_INVENTORY_INVALID = 12052003
PRICE_INVALID = 12052004
CANCEL_NOT_ALLOWED = 25001001
STATEMENT_NOT_FOUND = 22001001


class ApiError(Exception):
    """Answer the request with this code/message (HTTP 200 unless ``http_status`` says otherwise)."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        http_status: int = 200,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.headers = headers or {}
        self.data = data


def invalid_param(message: str) -> ApiError:
    """A request parameter the API rejects (code 36009004, message starting 'Invalid parameter')."""
    return ApiError(INVALID_REQUEST, f"Invalid parameter: {message}")
