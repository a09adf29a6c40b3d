"""GET logistics/202309/warehouses and the shipping-provider list of a delivery option."""

from __future__ import annotations

from typing import Any

from sandbox.tiktok_shop.call import Call

#: The carriers every delivery option offers (sandbox ids, the same the generator uses); any other
#: provider found on the connection's orders is offered too, so recorded tracking stays valid.
SHIPPING_PROVIDERS: list[dict[str, str]] = [
    {"id": "7117858858072016686", "name": "USPS"},
    {"id": "7117859084333745966", "name": "UPS"},
    {"id": "7129736293356193578", "name": "FedEx"},
    {"id": "7208502187360519982", "name": "Royal Mail"},
    {"id": "7208502187360519983", "name": "DPD"},
    {"id": "7208502187360519984", "name": "Evri"},
]


def providers(call: Call) -> dict[str, str]:
    """provider id -> name for this connection."""

    def build() -> dict[str, str]:
        out = {p["id"]: p["name"] for p in SHIPPING_PROVIDERS}
        for order in call.idx.records("orders"):
            for li in order.get("line_items") or []:
                pid, name = li.get("shipping_provider_id"), li.get("shipping_provider_name")
                if pid and name:
                    out.setdefault(str(pid), str(name))
        return out

    return call.idx.lookup("providers", build)


def warehouses(call: Call) -> dict[str, Any]:
    return {"warehouses": call.idx.warehouses()}


def shipping_providers(call: Call) -> dict[str, Any]:
    return {"shipping_providers": [{"id": k, "name": v} for k, v in providers(call).items()]}
