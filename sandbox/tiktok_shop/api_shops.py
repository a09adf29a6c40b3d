"""GET authorization/202309/shops: the shops the access token is authorized for."""

from __future__ import annotations

from typing import Any

from sandbox.tiktok_shop.call import Call


def shops(call: Call) -> dict[str, Any]:
    out = []
    for conn in call.shops:
        t = conn.tiktok
        shop_id = str(t["shop_id"])
        region = t.get("region", "")
        out.append(
            {
                "id": shop_id,
                "name": t.get("shop_name", ""),
                "region": region,
                "seller_type": t.get("seller_type", "LOCAL"),
                "cipher": t["shop_cipher"],
                "code": t.get("shop_code") or f"{region}LC{shop_id[-6:]}",
            }
        )
    return {"shops": out}
