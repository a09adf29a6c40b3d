"""A test oracle: the drift rules of the marts contract, applied in plain Python to scenario records.

It exists to check the generator's truth file from the outside: classifying every entity of an
exported merchant must give exactly the injected drift, no more and no less. It reads only the
platform-native records (never the generator's model), so a generator bug cannot hide in it.
The rules and their defaults mirror docs/sandbox.md "Drift rules".
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HOLD = timedelta(minutes=60)
GRACE = timedelta(minutes=30)
TRACKING_SLA = timedelta(hours=24)
DECISION = timedelta(days=5)
ALERT_HORIZON = timedelta(hours=24)
UNPAID_AFTER = timedelta(days=7)
TITLE_MIN, TITLE_MAX = 25, 255
PAST_HOLD = {"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"}
IN_FLIGHT = PAST_HOLD | {"ON_HOLD"}


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _unix(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _amt(money_bag: dict[str, Any] | None) -> Decimal:
    return Decimal(money_bag["shopMoney"]["amount"]) if money_bag else Decimal("0")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def link_id(order: dict[str, Any]) -> str | None:
    """The TikTok order id a Shopify order carries: sourceIdentifier, then attribute, then tag."""
    if order.get("sourceIdentifier"):
        return order["sourceIdentifier"]
    for attr in order.get("customAttributes") or []:
        if attr["key"] == "tiktok_order_id" and attr["value"]:
            return attr["value"]
    for tag in order.get("tags") or []:
        if tag.startswith("tiktok_order:"):
            return tag.split(":", 1)[1]
    return None


def _refund_amount(refund: dict[str, Any]) -> Decimal:
    lines = sum((_amt(n["subtotalSet"]) for n in refund["refundLineItems"]["nodes"]), Decimal("0"))
    shipping = sum(
        (_amt(n["subtotalAmountSet"]) for n in (refund.get("refundShippingLines") or {"nodes": []})["nodes"]),
        Decimal("0"),
    )
    return lines + shipping


def classify(scenario: Path) -> list[dict[str, Any]]:
    manifest = json.loads((scenario / "manifest.json").read_text())
    as_of = _ts(manifest["as_of"])
    out: list[dict[str, Any]] = []
    for conn in manifest["connections"]:
        cid = conn["id"]
        d = scenario / cid

        def add(mart: str, key: dict[str, str], drift: str, cid: str = cid) -> None:
            out.append({"mart": mart, "connection_id": cid, "key": key, "drift_type": drift})

        s_orders = _jsonl(d / "shopify/orders.jsonl")
        s_products = _jsonl(d / "shopify/products.jsonl")
        levels = _jsonl(d / "shopify/inventory_levels.jsonl")
        t_orders = _jsonl(d / "tiktok_shop/orders.jsonl")
        t_products = _jsonl(d / "tiktok_shop/products.jsonl")
        returns = _jsonl(d / "tiktok_shop/returns.jsonl")
        cancels = _jsonl(d / "tiktok_shop/cancellations.jsonl")
        statements = _jsonl(d / "tiktok_shop/statements.jsonl")
        txs = _jsonl(d / "tiktok_shop/statement_transactions.jsonl")
        payments = _jsonl(d / "tiktok_shop/payments.jsonl")

        tt_by_id = {o["id"]: o for o in t_orders}
        linked: dict[str, dict[str, Any]] = {}
        for so in s_orders:
            tid = link_id(so)
            if tid is None:
                continue
            if tid in tt_by_id:
                linked[tid] = so
            else:
                add("fct_order_reconciliation", {"shopify_order_id": so["id"]}, "orphan_in_shopify")

        # ---- orders
        for o in t_orders:
            so = linked.get(o["id"])
            status = o["status"]
            paid = _unix(o.get("paid_time"))
            past_deadline = paid is not None and as_of > paid + HOLD + GRACE
            drift = None
            if status in PAST_HOLD and so is None and past_deadline:
                drift = "missing_in_shopify"
            elif status == "ON_HOLD" and past_deadline:
                drift = "stuck_on_hold"
            elif so is not None:
                tt_tracking = {li["tracking_number"] for li in o["line_items"] if li.get("tracking_number")}
                fulfils = [f for f in so["fulfillments"] if f["trackingInfo"]]
                s_tracking = {t["number"] for f in fulfils for t in f["trackingInfo"]}
                latest = max((_ts(f["createdAt"]) for f in fulfils), default=None)
                tt_lines = Counter(li["seller_sku"] for li in o["line_items"])
                s_lines: Counter[str] = Counter()
                for li in so["lineItems"]["nodes"]:
                    s_lines[li["sku"]] += li["quantity"]
                if status == "CANCELLED" and not so["cancelledAt"]:
                    drift = "cancel_not_mirrored"
                elif so["cancelledAt"] and status != "CANCELLED":
                    drift = "cancelled_in_shopify_only"
                elif (
                    o["fulfillment_type"] == "FULFILLMENT_BY_SELLER"
                    and latest is not None
                    and latest <= as_of - TRACKING_SLA
                    and (not tt_tracking or status in ("AWAITING_SHIPMENT", "AWAITING_COLLECTION"))
                ):
                    drift = "tracking_not_pushed"
                elif tt_tracking and s_tracking and tt_tracking != s_tracking:
                    drift = "tracking_mismatch"
                elif Decimal(o["payment"]["total_amount"]) != _amt(so["totalPriceSet"]):
                    drift = "amount_mismatch"
                elif tt_lines != s_lines:
                    drift = "line_items_mismatch"
            if drift:
                add("fct_order_reconciliation", {"tiktok_order_id": o["id"]}, drift)

        # ---- inventory
        variant_by_sku: dict[str, dict[str, Any]] = {}
        sku_count: Counter[str] = Counter()
        for p in s_products:
            for v in p["variants"]["nodes"]:
                if v["sku"]:
                    sku_count[v["sku"]] += 1
                    variant_by_sku[v["sku"]] = v
        available = {
            (lv["item"]["id"], lv["location"]["id"]): next(
                q["quantity"] for q in lv["quantities"] if q["name"] == "available"
            )
            for lv in levels
        }
        in_flight: Counter[tuple[str, str]] = Counter()
        for o in t_orders:
            if o["status"] in IN_FLIGHT and o["fulfillment_type"] == "FULFILLMENT_BY_SELLER" and o["id"] not in linked:
                for li in o["line_items"]:
                    in_flight[(li["seller_sku"], o["warehouse_id"])] += 1
        fbt = {w["id"] for w in conn["tiktok_shop"]["warehouses"] if w.get("fbt")}
        wmap = conn["warehouse_location_map"]
        tt_sku_by_seller: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for p in t_products:
            for sku in p["skus"]:
                tt_sku_by_seller[sku["seller_sku"]] = (p, sku)
                for inv in sku["inventory"]:
                    w = inv["warehouse_id"]
                    if w in fbt:
                        continue
                    key = {"tiktok_sku_id": sku["id"], "tiktok_warehouse_id": w}
                    v = variant_by_sku.get(sku["seller_sku"])
                    if v is None:
                        add("fct_inventory_drift", key, "sku_not_in_shopify")
                    elif w not in wmap:
                        add("fct_inventory_drift", key, "warehouse_unmapped")
                    else:
                        shop = available.get((v["inventoryItem"]["id"], wmap[w]), 0)
                        expected = max(0, shop - in_flight[(sku["seller_sku"], w)])
                        if inv["quantity"] > expected:
                            add("fct_inventory_drift", key, "tiktok_overstated")
                        elif inv["quantity"] < expected:
                            add("fct_inventory_drift", key, "tiktok_understated")

        # ---- refunds
        tt_refunds_by_order: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for r in returns:
            tt_refunds_by_order[r["order_id"]].append(("return", r))
        for c in cancels:
            if Decimal(c["refund_amount"]["refund_total"]) > 0:
                tt_refunds_by_order[c["order_id"]].append(("cancel", c))
        for order_id, items in tt_refunds_by_order.items():
            so = linked.get(order_id)
            s_refunds = so["refunds"] if so else []
            completed_total = sum(
                (
                    Decimal(r["refund_amount"]["refund_total"])
                    for kind, r in items
                    if (r.get("return_status") or r.get("cancel_status"))
                    in ("RETURN_OR_REFUND_REQUEST_COMPLETE", "CANCELLATION_REQUEST_COMPLETE")
                ),
                Decimal("0"),
            )
            shopify_total = sum((_refund_amount(r) for r in s_refunds), Decimal("0"))
            for kind, r in items:
                rid = r["return_id"] if kind == "return" else r["cancel_id"]
                status = r["return_status"] if kind == "return" else r["cancel_status"]
                done = status in ("RETURN_OR_REFUND_REQUEST_COMPLETE", "CANCELLATION_REQUEST_COMPLETE")
                pending = status in ("RETURN_OR_REFUND_REQUEST_PENDING", "CANCELLATION_REQUEST_PENDING")
                matched = [sr for sr in s_refunds if rid in (sr.get("note") or "")]
                units = len(r["return_line_items"]) if kind == "return" else len(r["cancel_line_items"])
                restocked = sum(
                    n["quantity"]
                    for sr in matched
                    for n in sr["refundLineItems"]["nodes"]
                    if n["restockType"] != "NO_RESTOCK"
                )
                drift = None
                if done and so is not None and not matched:
                    drift = "refund_not_mirrored"
                elif done and so is not None and shopify_total > completed_total:
                    drift = "double_refund"
                elif (
                    done
                    and matched
                    and kind == "return"
                    and r["return_type"] == "RETURN_AND_REFUND"
                    and restocked < units
                ):
                    drift = "missing_restock"
                elif matched and sum((_refund_amount(sr) for sr in matched), Decimal("0")) != Decimal(
                    r["refund_amount"]["refund_total"]
                ):
                    drift = "amount_mismatch"
                elif pending and _unix(r["create_time"]) + DECISION <= as_of + ALERT_HORIZON:
                    drift = "decision_due"
                if drift:
                    key = {"tiktok_return_id": rid} if kind == "return" else {"tiktok_cancel_id": rid}
                    add("fct_refund_reconciliation", key, drift)
        for tid, so in linked.items():
            if tid not in tt_refunds_by_order:
                for sr in so["refunds"]:
                    add("fct_refund_reconciliation", {"shopify_refund_id": sr["id"]}, "refunded_in_shopify_only")

        # ---- payouts
        tx_by_statement: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for t in txs:
            tx_by_statement[t["statement_id"]].append(t)
        settle_by_payment: dict[str, Decimal] = defaultdict(Decimal)
        for st in statements:
            if st.get("payment_id"):
                settle_by_payment[st["payment_id"]] += Decimal(st["settlement_amount"])
        pay_by_id = {p["id"]: p for p in payments}
        for st in statements:
            items = tx_by_statement[st["id"]]
            pay = pay_by_id.get(st.get("payment_id") or "")
            drift = None
            if sum((Decimal(t["settlement_amount"]) for t in items), Decimal("0")) != Decimal(st["settlement_amount"]):
                drift = "statement_mismatch"
            elif pay and Decimal(pay["amount"]["value"]) != settle_by_payment[pay["id"]] + Decimal(
                pay["reserve_amount"]["value"]
            ):
                drift = "payment_mismatch"
            elif st["payment_status"] != "PAID" and _unix(st["statement_time"]) < as_of - UNPAID_AFTER:
                drift = "unpaid"
            elif any(t["type"] == "ORDER" and t["order_id"] not in linked for t in items):
                drift = "order_not_in_shopify"
            elif any(
                t["type"] == "ORDER"
                and Decimal(t["customer_payment_amount"]) != _amt(linked[t["order_id"]]["totalPriceSet"])
                for t in items
            ):
                drift = "revenue_mismatch"
            if drift:
                add("fct_payout_reconciliation", {"tiktok_statement_id": st["id"]}, drift)

        # ---- catalog
        for p in s_products:
            meta = {(m["namespace"], m["key"]): m["value"] for m in p["metafields"]["nodes"]}
            title = meta.get(("tiktok", "title")) or p["title"]
            for v in p["variants"]["nodes"]:
                codes = []
                if len(title) > TITLE_MAX:
                    codes.append("title_too_long")
                if len(title) < TITLE_MIN:
                    codes.append("title_too_short")
                if p["mediaCount"]["count"] == 0:
                    codes.append("missing_image")
                weight = v["inventoryItem"]["measurement"]["weight"]
                if weight is None:
                    codes.append("missing_weight")
                elif weight["value"] == 0:
                    codes.append("zero_weight")
                if ("tiktok", "package_dimensions") not in meta:
                    codes.append("missing_dimensions")
                if not v["sku"]:
                    codes.append("missing_sku")
                elif sku_count[v["sku"]] > 1:
                    codes.append("duplicate_sku")
                listing = tt_sku_by_seller.get(v["sku"]) if v["sku"] and sku_count[v["sku"]] == 1 else None
                if listing is None:
                    codes.append("not_listed_on_tiktok")
                else:
                    tp, tsku = listing
                    if Decimal(tsku["price"]["sale_price"]) != Decimal(v["price"]):
                        codes.append("price_mismatch")
                    if tp["title"] != title:
                        codes.append("title_diverged")
                    if tp["status"] == "FAILED":
                        codes.append("tiktok_status_failed")
                    if tp["status"] == "DRAFT":
                        codes.append("tiktok_status_draft")
                for code in codes:
                    add("dim_catalog_health", {"shopify_variant_id": v["id"]}, code)
    return out


def as_set(rows: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(r["mart"], r["connection_id"], json.dumps(r["key"], sort_keys=True), r["drift_type"]) for r in rows}
