"""Products: search, detail, inventory search (with committed stock), inventory and price updates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.tiktok_shop import paging
from sandbox.tiktok_shop.call import Call, Record, fmt
from sandbox.tiktok_shop.errors import (
    PRICE_INVALID,
    PRODUCT_NOT_FOUND,
    SKU_NOT_FOUND,
    WAREHOUSE_INVENTORY_INVALID,
    ApiError,
    invalid_param,
)

PRODUCT_STATUSES = (
    "ALL",
    "DRAFT",
    "PENDING",
    "FAILED",
    "ACTIVATE",
    "SELLER_DEACTIVATED",
    "PLATFORM_DEACTIVATED",
    "FREEZE",
    "DELETED",
    "SCHEDULED",
)
MAX_QUANTITY = 99_999
#: a sandbox bound: TikTok caps prices per market; any positive amount up to this is accepted
MAX_PRICE = Decimal("99999999.99")


def _search_shape(p: Record) -> Record:
    return {
        "id": p["id"],
        "title": p.get("title"),
        "status": p.get("status"),
        "create_time": p.get("create_time"),
        "update_time": p.get("update_time"),
        "skus": [
            {
                "id": s.get("id"),
                "seller_sku": s.get("seller_sku"),
                "price": s.get("price"),
                "inventory": s.get("inventory") or [],
            }
            for s in p.get("skus") or []
        ],
    }


def search(call: Call) -> dict[str, Any]:
    q = call.query
    size = paging.page_size(q, 1, 100)
    # not documented for products; accepted for symmetry with orders (default create_time DESC)
    field = paging.sort_field(q, ("create_time", "update_time"), "create_time")
    desc = paging.sort_order(q)
    body = call.body()
    status = paging.str_value(body, "status", PRODUCT_STATUSES)
    if status == "ALL":
        status = None
    skus = paging.str_list(body, "seller_skus")
    times = paging.time_filters(body, ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le"))
    in_window = paging.time_predicate(times)
    sku_set = set(skus) if skus is not None else None

    def pred(p: Record) -> bool:
        return (
            (status is None or p.get("status") == status)
            and (sku_set is None or any(s.get("seller_sku") in sku_set for s in p.get("skus") or []))
            and in_window(p)
        )

    d = paging.digest("products", status, skus, times, field, desc)
    view = call.idx.view(d, lambda: paging.build_view(call.idx.records("products"), pred, field))
    products, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {
        "products": [_search_shape(p) for p in products],
        "next_page_token": token,
        "total_count": len(view),
    }


def _product(call: Call) -> Record:
    product_id = call.path_params["product_id"]
    product = call.idx.by_id("products").get(product_id)
    if product is None:
        raise ApiError(PRODUCT_NOT_FOUND, f"Product {product_id} does not exist in this shop")
    return product


def detail(call: Call) -> dict[str, Any]:
    return _product(call)


def _sku_inventory(call: Call, sku: Record) -> Record:
    committed = call.idx.committed()
    sku_id = str(sku.get("id"))
    rows: dict[str, list[int]] = {}
    for inv in sku.get("inventory") or []:
        rows[str(inv.get("warehouse_id"))] = [int(inv.get("quantity") or 0), 0]
    for warehouse, units in committed.get(sku_id, {}).items():
        rows.setdefault(warehouse, [0, 0])[1] += units
    available = sum(r[0] for r in rows.values())
    return {
        "id": sku_id,
        "seller_sku": sku.get("seller_sku"),
        "total_available_quantity": available,
        "total_committed_quantity": sum(r[1] for r in rows.values()),
        "warehouse_inventory": [
            {"warehouse_id": wh, "available_quantity": a, "committed_quantity": c} for wh, (a, c) in rows.items()
        ],
        "total_available_inventory_distribution": {
            "in_shop_inventory": {"quantity": available},
            "creator_inventory": [],
            "campaign_inventory": [],
        },
    }


def inventory_search(call: Call) -> dict[str, Any]:
    body = call.body()
    product_ids = paging.str_list(body, "product_ids", 100)
    sku_ids = paging.str_list(body, "sku_ids", 600)
    if not product_ids and not sku_ids:
        raise invalid_param("one of product_ids (at most 100) or sku_ids (at most 600) is required")
    wanted: dict[str, list[Record] | None] = {}  # product id -> chosen skus (None: all)
    products = call.idx.by_id("products")
    for pid in product_ids or []:
        if pid in products:
            wanted[pid] = None
    sku_index = call.idx.sku_index()
    for sid in sku_ids or []:
        hit = sku_index.get(sid)
        if hit is None:
            continue
        product, sku = hit
        chosen = wanted.setdefault(str(product["id"]), [])
        if chosen is not None and all(s is not sku for s in chosen):
            chosen.append(sku)
    inventory = []
    for pid, chosen in wanted.items():
        skus = chosen if chosen is not None else products[pid].get("skus") or []
        inventory.append({"product_id": pid, "skus": [_sku_inventory(call, s) for s in skus]})
    return {"inventory": inventory}


def inventory_update(call: Call) -> dict[str, Any]:
    """Set available quantities; bad SKUs/warehouses fail individually (code 0 + data.errors)."""
    product = _product(call)
    entries = call.body().get("skus")
    if not isinstance(entries, list) or not entries:
        raise invalid_param("skus must be a non-empty list of {id, inventory:[{warehouse_id, quantity}]}")
    skus = {str(s.get("id")): s for s in product.get("skus") or []}
    warehouses = call.idx.sales_warehouse_ids()
    fbt = call.idx.fbt_warehouse_ids()
    errors: list[Record] = []
    applied = 0
    for entry in entries:
        if not isinstance(entry, dict):
            raise invalid_param("each skus[] entry must be an object")
        sku_id = str(entry.get("id", ""))
        sku = skus.get(sku_id)
        if sku is None:
            errors.append(
                {
                    "code": SKU_NOT_FOUND,
                    "message": f"SKU {sku_id} does not belong to product {product['id']}",
                    "detail": {"sku_id": sku_id, "extra_errors": []},
                }
            )
            continue
        extra: list[Record] = []
        inventory = entry.get("inventory")
        if not isinstance(inventory, list) or not inventory:
            raise invalid_param(f"skus[{sku_id}].inventory must be a non-empty list")
        for inv in inventory:
            warehouse_id = str((inv or {}).get("warehouse_id", "")) if isinstance(inv, dict) else ""
            quantity = inv.get("quantity") if isinstance(inv, dict) else None
            problem = None
            if warehouse_id not in warehouses:
                problem = f"warehouse {warehouse_id or '(missing)'} is not a sales warehouse of this shop"
            elif warehouse_id in fbt:
                problem = f"warehouse {warehouse_id} is Fulfilled by TikTok; its inventory is managed by TikTok"
            elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
                problem = f"quantity must be an integer between 0 and {MAX_QUANTITY}, got {quantity!r}"
            if problem:
                extra.append({"warehouse_id": warehouse_id, "message": problem})
                continue
            rows = sku.setdefault("inventory", [])
            for row in rows:
                if str(row.get("warehouse_id")) == warehouse_id:
                    row["quantity"] = quantity
                    break
            else:
                rows.append({"warehouse_id": warehouse_id, "quantity": quantity})
            applied += 1
        if extra:
            errors.append(
                {
                    "code": WAREHOUSE_INVENTORY_INVALID,
                    "message": f"inventory of SKU {sku_id} was not updated in {len(extra)} warehouse(s)",
                    "detail": {"sku_id": sku_id, "extra_errors": extra},
                }
            )
    if applied:
        product["update_time"] = call.stamp()
        call.wrote("inventory_update")
    return {"errors": errors} if errors else {}


def _price_problem(price: Any, currency: str) -> str | None:
    """Why a ``price`` object cannot be applied (None when it can): amount and the shop's currency."""
    if not isinstance(price, dict):
        return "price must be an object {amount, currency}"
    raw = price.get("amount")
    try:
        amount = Decimal(raw) if isinstance(raw, str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        return f"price.amount must be a decimal string, got {raw!r}"
    if amount <= 0 or amount > MAX_PRICE or amount != amount.quantize(Decimal("0.01")):
        return f"price.amount must be positive with at most 2 decimals and at most {MAX_PRICE}, got {raw!r}"
    if price.get("currency") != currency:
        return f"price.currency must be the shop currency {currency}, got {price.get('currency')!r}"
    return None


def price_update(call: Call) -> dict[str, Any]:
    """Set SKU prices; bad SKUs/prices fail individually (code 0 + data.errors), like inventory update."""
    product = _product(call)
    entries = call.body().get("skus")
    if not isinstance(entries, list) or not entries:
        raise invalid_param("skus must be a non-empty list of {id, price:{amount, currency}}")
    skus = {str(s.get("id")): s for s in product.get("skus") or []}
    assert call.conn is not None  # a shop-scoped route
    currency = str(call.conn.tiktok["currency"])
    errors: list[Record] = []
    applied = 0
    for entry in entries:
        if not isinstance(entry, dict):
            raise invalid_param("each skus[] entry must be an object")
        sku_id = str(entry.get("id", ""))
        sku = skus.get(sku_id)
        if sku is None:
            errors.append(
                {
                    "code": SKU_NOT_FOUND,
                    "message": f"SKU {sku_id} does not belong to product {product['id']}",
                    "detail": {"sku_id": sku_id},
                }
            )
            continue
        problem = _price_problem(entry.get("price"), currency)
        if problem:
            errors.append(
                {
                    "code": PRICE_INVALID,
                    "message": f"price of SKU {sku_id} was not updated: {problem}",
                    "detail": {"sku_id": sku_id},
                }
            )
            continue
        amount = fmt(Decimal(entry["price"]["amount"]))
        price = sku.setdefault("price", {"currency": currency})
        price["sale_price"] = amount
        price["tax_exclusive_price"] = amount
        applied += 1
    if applied:
        product["update_time"] = call.stamp()
        call.wrote("price_update")
    return {"errors": errors} if errors else {}
