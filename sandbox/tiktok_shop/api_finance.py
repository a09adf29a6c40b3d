"""finance/202309: statements, statement transactions, payments and (derived) withdrawals."""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.tiktok_shop import paging
from sandbox.tiktok_shop.call import Call, Record
from sandbox.tiktok_shop.errors import STATEMENT_NOT_FOUND, ApiError, invalid_param

PAYMENT_STATUSES = ("PAID", "FAILED", "PROCESSING")
WITHDRAWAL_TYPES = ("WITHDRAW", "SETTLE", "TRANSFER", "REVERSE")
_HEADER_FIELDS = (
    "statement_time",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "settlement_amount",
    "shipping_cost_amount",
    "net_sales_amount",
)


def statements(call: Call) -> dict[str, Any]:
    q = call.query
    field = paging.sort_field(q, ("statement_time",), None)
    size = paging.page_size(q, 1, 100, default=20)
    desc = paging.sort_order(q)
    status = paging.str_value(q, "payment_status", PAYMENT_STATUSES)
    times = paging.time_filters(q, ("statement_time_ge", "statement_time_lt"))
    in_window = paging.time_predicate(times)

    def pred(s: Record) -> bool:
        return (status is None or s.get("payment_status") == status) and in_window(s)

    d = paging.digest("statements", status, times, field, desc)
    view = call.idx.view(d, lambda: paging.build_view(call.idx.records("statements"), pred, field))
    items, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {"statements": items, "next_page_token": token}


def statement_transactions(call: Call) -> dict[str, Any]:
    q = call.query
    statement_id = call.path_params["statement_id"]
    statement = call.idx.by_id("statements").get(statement_id)
    if statement is None:
        raise ApiError(STATEMENT_NOT_FOUND, f"Statement {statement_id} does not exist in this shop")
    field = paging.sort_field(q, ("order_create_time",), None)
    size = paging.page_size(q, 1, 100, default=20)
    desc = paging.sort_order(q)
    d = paging.digest("statement_transactions", statement_id, field, desc)
    txns = call.idx.transactions_by_statement().get(statement_id, [])
    view = call.idx.view(d, lambda: paging.build_view(txns, lambda _: True, field))
    items, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    out: dict[str, Any] = {"statement_id": statement_id}
    out.update({f: statement.get(f) for f in _HEADER_FIELDS})
    out.update({"total_count": len(view), "next_page_token": token, "statement_transactions": items})
    return out


def payments(call: Call) -> dict[str, Any]:
    q = call.query
    field = paging.sort_field(q, ("create_time",), None)
    size = paging.page_size(q, 1, 100, default=20)
    desc = paging.sort_order(q)
    times = paging.time_filters(q, ("create_time_ge", "create_time_lt"))
    d = paging.digest("payments", times, field, desc)
    pred = paging.time_predicate(times)
    view = call.idx.view(d, lambda: paging.build_view(call.idx.records("payments"), pred, field))
    items, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {"payments": items, "next_page_token": token}


def _withdrawal_id(payment_id: str) -> str:
    return str(int(hashlib.sha256(f"withdrawal:{payment_id}".encode()).hexdigest()[:15], 16))


def derived_withdrawals(payments_: list[Record]) -> list[Record]:
    """One SETTLE withdrawal per PAID payment: the payout that moved the settled money out."""
    out = []
    for p in payments_:
        if p.get("status") != "PAID":
            continue
        amount = p.get("amount") or {}
        out.append(
            {
                "id": _withdrawal_id(str(p["id"])),
                "type": "SETTLE",
                "amount": amount.get("value"),
                "currency": amount.get("currency"),
                "status": "SUCCESS",
                "create_time": p.get("paid_time") or p.get("create_time"),
            }
        )
    return out


def withdrawals(call: Call) -> dict[str, Any]:
    q = call.query
    raw_types = q.get("types", "")
    types = [t for t in raw_types.split(",") if t]
    if not types:
        raise invalid_param(f"types is required (comma-separated: {','.join(WITHDRAWAL_TYPES)})")
    bad = [t for t in types if t not in WITHDRAWAL_TYPES]
    if bad:
        raise invalid_param(f"types must be among {','.join(WITHDRAWAL_TYPES)}, got {','.join(bad)}")
    size = paging.page_size(q, 1, 100, default=20)
    desc = paging.sort_order(q)
    times = paging.time_filters(q, ("create_time_ge", "create_time_lt"))
    in_window = paging.time_predicate(times)
    wanted = set(types)

    def pred(w: Record) -> bool:
        return w["type"] in wanted and in_window(w)

    d = paging.digest("withdrawals", sorted(wanted), times, desc)
    view = call.idx.view(
        d, lambda: paging.build_view(derived_withdrawals(call.idx.records("payments")), pred, "create_time")
    )
    items, token = paging.take_page(view, size, q.get("page_token", ""), d, desc)
    return {"withdrawals": items, "next_page_token": token}
