"""TikTok finance: statement transactions, daily statements, payments with reserves, payout drift.

Sign convention (the 202309 formulas, UK/US local sellers; see docs/sandbox.md):
revenue = customer_payment + platform_discount + platform_discount_refund + customer_order_refund
+ shipping_fee_subsidy; settlement = net_sales + shipping_cost + fee + adjustment with
net_sales = revenue; fees, costs and refunds are negative. A payment's amount = Σ settlements of
the statements it pays + its reserve_amount (negative when a reserve is held, positive on release).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.generator.orders import ORDER_MART
from sandbox.generator.params import m, money, uniform_td
from sandbox.generator.world import ConnCtx, TikTokOrder

DAY = timedelta(days=1)
ZERO = Decimal("0.00")
PAYOUT_MART = "fct_payout_reconciliation"
UNPAID_AFTER = timedelta(days=7)
ADJUSTMENTS = [
    ("CHARGE_BACK", -1),
    ("LOGISTICS_REIMBURSEMENT", 1),
    ("PLATFORM_PENALTY", -1),
    ("SHIPPING_FEE_ADJUSTMENT", -1),
    ("PLATFORM_REIMBURSEMENT", 1),
]

#: every amount field of a 202309 statement transaction, so each record carries the full shape
AMOUNT_FIELDS = [
    "settlement_amount",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "shipping_fee_amount",
    "shipping_cost_amount",
    "customer_payment_amount",
    "customer_refund_amount",
    "customer_order_refund_amount",
    "gross_sales_amount",
    "gross_sales_refund_amount",
    "net_sales_amount",
    "after_seller_discounts_subtotal_amount",
    "seller_discount_amount",
    "seller_discount_refund_amount",
    "platform_discount_amount",
    "platform_discount_refund_amount",
    "platform_refund_subsidy_amount",
    "platform_commission_amount",
    "referral_fee_amount",
    "transaction_fee_amount",
    "refund_administration_fee_amount",
    "affiliate_commission_amount",
    "affiliate_partner_commission_amount",
    "affiliate_ads_commission_amount",
    "actual_shipping_fee_amount",
    "actual_return_shipping_fee_amount",
    "return_shipping_fee_amount",
    "platform_shipping_fee_discount_amount",
    "shipping_fee_subsidy_amount",
    "fbm_shipping_cost_amount",
    "fbt_shipping_cost_amount",
    "fbt_fulfillment_fee_amount",
    "customer_paid_shipping_fee_amount",
    "signature_confirmation_fee_amount",
    "sales_tax_amount",
    "sales_tax_payment_amount",
    "sales_tax_refund_amount",
    "retail_delivery_fee_amount",
]


def _order_transaction(ctx: ConnCtx, o: TikTokOrder) -> dict[str, Decimal | str | int]:
    refunded = [o.units[i] for r in o.refunds if r.completed_at for i in r.unit_idx]
    refund_total = sum((r.refund_total for r in o.refunds if r.completed_at), ZERO)
    plat_disc = sum((u.platform_discount for u in o.units), ZERO)
    plat_disc_refund = -sum((u.platform_discount for u in refunded), ZERO)
    seller_disc = sum((u.seller_discount for u in o.units), ZERO)
    gross = sum((u.original_price for u in o.units), ZERO)
    gross_refund = -sum((u.original_price for u in refunded), ZERO)
    # amount fields left out are zero: render_transaction fills them (a million full dicts cost GBs)
    a: dict[str, Any] = {}
    a["customer_payment_amount"] = o.total_amount
    a["customer_order_refund_amount"] = -refund_total
    a["customer_refund_amount"] = -refund_total
    a["platform_discount_amount"] = plat_disc
    a["platform_discount_refund_amount"] = plat_disc_refund
    a["shipping_fee_subsidy_amount"] = o.shipping_fee_platform_discount
    a["gross_sales_amount"] = gross
    a["gross_sales_refund_amount"] = gross_refund
    a["seller_discount_amount"] = -seller_disc
    a["seller_discount_refund_amount"] = sum((u.seller_discount for u in refunded), ZERO)
    a["after_seller_discounts_subtotal_amount"] = gross - seller_disc
    a["customer_paid_shipping_fee_amount"] = o.shipping_fee
    a["shipping_fee_amount"] = o.shipping_fee
    revenue = (
        a["customer_payment_amount"]
        + a["platform_discount_amount"]
        + a["platform_discount_refund_amount"]
        + a["customer_order_refund_amount"]
        + a["shipping_fee_subsidy_amount"]
    )
    a["revenue_amount"] = revenue
    a["net_sales_amount"] = revenue
    base = o.sub_total + plat_disc - sum((u.sale_price + u.platform_discount for u in refunded), ZERO)
    field, rate = ctx.profile["commission"]
    a[field] = -money(base * rate)
    a["transaction_fee_amount"] = -money((o.total_amount - refund_total) * Decimal("0.015"))
    if o.affiliate:
        a["affiliate_commission_amount"] = -money(base * Decimal("0.10"))
    a["fee_amount"] = (
        a.get("platform_commission_amount", ZERO)
        + a.get("referral_fee_amount", ZERO)
        + a["transaction_fee_amount"]
        + a.get("affiliate_commission_amount", ZERO)
    )
    if o.fulfillment_type == "FULFILLMENT_BY_TIKTOK":
        a["fbt_fulfillment_fee_amount"] = -o.label_cost
        a["shipping_cost_amount"] = -o.label_cost
    elif o.shipping_type == "TIKTOK":
        a["actual_shipping_fee_amount"] = -o.label_cost
        a["fbm_shipping_cost_amount"] = -o.label_cost
        a["shipping_cost_amount"] = -o.label_cost
    a["settlement_amount"] = (
        a["net_sales_amount"] + a.get("shipping_cost_amount", ZERO) + a["fee_amount"] + a.get("adjustment_amount", ZERO)
    )
    a.update(
        {
            "id": str(ctx.ids.take("tt_transaction")),
            "type": "ORDER",
            "order_id": o.id,
            "adjustment_id": "",
            "adjustment_order_id": "",
            "order_create_time": int(o.created.timestamp()),
        }
    )
    return a


def _adjustment(ctx: ConnCtx, rng, day: datetime, settled: list[TikTokOrder]) -> dict[str, Any]:
    kind, sign = rng.choice(ADJUSTMENTS)
    amount = money(rng.uniform(1, 60)) * sign
    a: dict[str, Any] = {}
    a["adjustment_amount"] = amount
    a["settlement_amount"] = amount
    related = rng.choice(settled) if settled and kind in ("CHARGE_BACK", "SHIPPING_FEE_ADJUSTMENT") else None
    a.update(
        {
            "id": str(ctx.ids.take("tt_transaction")),
            "type": kind,
            "order_id": "",
            "adjustment_id": str(ctx.ids.take("tt_adjustment")),
            "adjustment_order_id": related.id if related else "",
            "order_create_time": int((related.created if related else day - DAY).timestamp()),
        }
    )
    return a


def build_finance(ctx: ConnCtx) -> None:
    rng = ctx.rng("finance")
    as_of = ctx.params.as_of
    by_day: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    settled: list[TikTokOrder] = []
    tx_order: dict[str, TikTokOrder] = {}
    for o in sorted((o for o in ctx.orders if o.settle_day), key=lambda o: (o.settle_day, o.id)):
        tx = _order_transaction(ctx, o)
        by_day[o.settle_day].append(tx)
        tx_order[tx["id"]] = o
        settled.append(o)
    day = ctx.params.start.replace(hour=0, minute=0, second=0) + DAY
    while day <= as_of:
        if rng.random() < 0.3:
            prior = [o for o in settled if o.settle_day and o.settle_day < day]
            by_day[day].append(_adjustment(ctx, rng, day, prior))
        day += DAY

    flags: dict[str, list[str]] = defaultdict(list)
    # revenue_mismatch: the customer payment TikTok settled differs from the Shopify order total
    order_txs = [t for txs in by_day.values() for t in txs if t["type"] == "ORDER"]
    eligible = [
        t
        for t in order_txs
        if not tx_order[t["id"]].touched and tx_order[t["id"]].shopify and not tx_order[t["id"]].refunds
    ]
    for t in ctx.pick(rng, "payout.revenue_mismatch", eligible):
        delta = money(rng.choice(["0.01", "0.99", "2.50"])) * rng.choice([1, -1])
        for f in ("customer_payment_amount", "revenue_amount", "net_sales_amount", "settlement_amount"):
            t[f] += delta
        tx_order[t["id"]].touched.add("payout.revenue_mismatch")
    # order_not_in_shopify: settled on TikTok, never mirrored to Shopify
    eligible = [
        t
        for t in order_txs
        if not tx_order[t["id"]].touched and tx_order[t["id"]].shopify and not tx_order[t["id"]].refunds
    ]
    for t in ctx.pick(rng, "payout.order_not_in_shopify", eligible):
        o = tx_order[t["id"]]
        o.shopify = None
        o.touched.add("payout.order_not_in_shopify")
        ctx.add_truth(ORDER_MART, {"tiktok_order_id": o.id}, "missing_in_shopify")

    statements: list[dict[str, Any]] = []
    for day in sorted(by_day):
        txs = by_day[day]
        sid = str(ctx.ids.take("tt_statement"))
        header = {
            f: sum((t.get(f, ZERO) for t in txs), ZERO)
            for f in (
                "revenue_amount",
                "fee_amount",
                "adjustment_amount",
                "shipping_cost_amount",
                "net_sales_amount",
                "settlement_amount",
            )
        }
        for t in txs:
            t["statement_id"] = sid
            o = tx_order.get(t["id"])
            if t["type"] == "ORDER" and o is not None:
                if "payout.order_not_in_shopify" in o.touched:
                    flags[sid].append("order_not_in_shopify")
                if "payout.revenue_mismatch" in o.touched:
                    flags[sid].append("revenue_mismatch")
        statements.append({"id": sid, "statement_time": day, "currency": ctx.currency, **header, "txs": txs})

    for st in ctx.pick(rng, "payout.statement_mismatch", [s for s in statements if not flags[s["id"]]]):
        st["settlement_amount"] += money(rng.choice(["0.01", "1.00", "12.34"])) * rng.choice([1, -1])
        flags[st["id"]].insert(0, "statement_mismatch")
    old = [s for s in statements if s["statement_time"] < as_of - UNPAID_AFTER - DAY and not flags[s["id"]]]
    unpaid_ids = {s["id"] for s in ctx.pick(rng, "payout.unpaid", old)}
    for sid in unpaid_ids:
        flags[sid].append("unpaid")

    _build_payments(ctx, rng, statements, unpaid_ids, flags)
    order = ["statement_mismatch", "payment_mismatch", "unpaid", "order_not_in_shopify", "revenue_mismatch"]
    for st in statements:
        f = flags[st["id"]]
        if f:
            first = min(f, key=order.index)
            ctx.add_truth(PAYOUT_MART, {"tiktok_statement_id": st["id"]}, first)
    ctx.statements = statements
    ctx.transactions = [t for s in statements for t in s.pop("txs")]


def _build_payments(ctx: ConnCtx, rng, statements: list[dict[str, Any]], unpaid: set[str], flags) -> None:
    """Payments every two days, each paying the statements of its two-day bucket."""
    as_of = ctx.params.as_of
    epoch = ctx.params.start.replace(hour=0, minute=0, second=0)
    buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for st in statements:
        st.update(payment_status="PROCESSING", payment_id="", payment_time=None)
        if st["id"] in unpaid:
            continue
        buckets[(st["statement_time"] - epoch).days // 2].append(st)
    payments: list[dict[str, Any]] = []
    held: list[tuple[int, Decimal]] = []
    for b in sorted(buckets):
        sts = buckets[b]
        created = epoch + timedelta(days=2 * b + 2) + DAY + timedelta(hours=6)
        if created > as_of:
            continue
        paid = created + timedelta(hours=2) + uniform_td(rng, timedelta(0), timedelta(minutes=30))
        status = "PAID" if paid <= as_of else "PROCESSING"
        settlement = sum((s["settlement_amount"] for s in sts), ZERO)
        reserve = ZERO
        if status == "PAID":
            due = next((i for i, (rb, _) in enumerate(held) if rb + 7 <= b), None)
            if due is not None:
                reserve = held.pop(due)[1]
            elif len(payments) % 6 == 5 and settlement > 0:
                reserve = -money(settlement * Decimal("0.05"))
                held.append((b, -reserve))
        pid = str(ctx.ids.take("tt_payment"))
        amount = settlement + reserve
        payments.append(
            {
                "id": pid,
                "create_time": created,
                "paid_time": paid if status == "PAID" else None,
                "status": status,
                "amount": amount,
                "settlement_amount": settlement,
                "reserve_amount": reserve,
                "statement_ids": [s["id"] for s in sts],
            }
        )
        for s in sts:
            s["payment_id"] = pid
            s["payment_status"] = status
            s["payment_time"] = paid if status == "PAID" else None
    clean = [p for p in payments if p["status"] == "PAID" and not any(flags[s] for s in p["statement_ids"])]
    for p in ctx.pick(rng, "payout.payment_mismatch", clean):
        p["amount"] += money(rng.choice(["0.01", "5.00", "20.00"])) * rng.choice([1, -1])
        for sid in p["statement_ids"]:
            flags[sid].insert(0, "payment_mismatch")
    ctx.payments = payments


def render_statement(st: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in st.items()}
    for k, v in list(out.items()):
        if isinstance(v, Decimal):
            out[k] = m(v)
    out["statement_time"] = int(st["statement_time"].timestamp())
    out["payment_time"] = int(st["payment_time"].timestamp()) if st.get("payment_time") else None
    return out


def render_transaction(t: dict[str, Any], currency: str) -> dict[str, Any]:
    out = {f: m(t.get(f, ZERO)) for f in AMOUNT_FIELDS}
    out.update((k, v) for k, v in t.items() if k not in out)
    out["currency"] = currency
    return out


def render_payment(p: dict[str, Any], currency: str) -> dict[str, Any]:
    def amt(v: Decimal) -> dict[str, str]:
        return {"value": m(v), "currency": currency}

    return {
        "id": p["id"],
        "create_time": int(p["create_time"].timestamp()),
        "paid_time": int(p["paid_time"].timestamp()) if p["paid_time"] else None,
        "status": p["status"],
        "amount": amt(p["amount"]),
        "settlement_amount": amt(p["settlement_amount"]),
        "reserve_amount": amt(p["reserve_amount"]),
        "payment_amount_before_exchange": amt(p["amount"]),
        "exchange_rate": "1",
        "bank_account": "**** 4821" if currency == "USD" else "**** 7310",
    }
