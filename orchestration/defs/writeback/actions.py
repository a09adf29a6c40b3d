"""One executor per action type: re-read the target, decide, then send the plan's exact API input.

Every executor starts by re-reading the platform, because the ledger cannot know what happened to
an attempt whose answer was lost (a crash after the call, a cut connection): if the target already
is what the plan wants, the action is ``skipped`` and nothing is sent. Where the API has
compare-and-set (Shopify ``inventorySetQuantities`` with ``compareQuantity``) it is used; where it
has not (TikTok inventory and price), the re-read value must still be the one the plan was built
from, or the plan is stale and the action fails rather than overwrite a newer value.

No executor moves money. ``assert_moves_no_money`` is called on the exact request right before a
Shopify refund or cancellation is sent and raises if it would pay anyone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from extract.shopify.client import ShopifyClient
from extract.tiktok_shop.client import TikTokClient
from orchestration.defs.writeback.plan import PlannedAction

_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class MoneyMovementRefused(RuntimeError):
    """A request that would move money (a refund with transactions, a cancel that refunds)."""


class InjectedCrash(BaseException):  # noqa: N818 -- it stands for the process dying, not an error
    """Raised when the test hook ``crash_after_call`` fires: like a SIGKILL it escapes every handler."""


def assert_moves_no_money(operation: str, variables: dict[str, Any]) -> None:
    """Raise before sending anything that could pay a buyer: TikTok already refunded them.

    A Shopify ``refundCreate`` must not carry ``transactions`` (not even an empty list: the key is
    refused outright so a planner bug cannot slip through), and ``orderCancel`` must say
    ``refund: false``.
    """
    if operation == "refundCreate":
        refund = variables.get("input", variables)
        if not isinstance(refund, dict) or "transactions" in refund:
            raise MoneyMovementRefused("refused: a Shopify refund from the repair job must not carry transactions")
    elif operation == "orderCancel" and variables.get("refund") is not False:
        raise MoneyMovementRefused("refused: orderCancel from the repair job must say refund: false")


@dataclass
class Outcome:
    status: str  # applied | skipped | failed
    detail: str | None = None
    error: str | None = None


@dataclass
class Clients:
    """The platform clients of one connection, opened on first use."""

    make_shopify: Callable[[], ShopifyClient]
    make_tiktok: Callable[[], TikTokClient]
    _shopify: ShopifyClient | None = None
    _tiktok: TikTokClient | None = None

    @property
    def shopify(self) -> ShopifyClient:
        if self._shopify is None:
            self._shopify = self.make_shopify()
        return self._shopify

    @property
    def tiktok(self) -> TikTokClient:
        if self._tiktok is None:
            self._tiktok = self.make_tiktok()
        return self._tiktok

    def close(self) -> None:
        for client in (self._shopify, self._tiktok):
            if client is not None:
                client.close()


@dataclass
class Attempt:
    """One attempt at one action: the clients, and a record of every request actually sent."""

    action: PlannedAction
    clients: Clients
    crash_after_call: Callable[[PlannedAction, str], None] | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def shopify(self) -> ShopifyClient:
        return self.clients.shopify

    @property
    def tiktok(self) -> TikTokClient:
        return self.clients.tiktok

    def send(self, request: dict[str, Any], call: Callable[[], Any]) -> Any:
        """Send one write. It is recorded as sent before the call: a lost answer may have applied it."""
        self.sent.append(request)
        answer = call()
        self.responses.append(getattr(answer, "payload", None) or getattr(answer, "data", None))
        if getattr(answer, "request_id", None):
            self.request_ids.append(str(answer.request_id))
        if self.crash_after_call is not None:
            try:
                self.crash_after_call(self.action, request["operation"])
            except BaseException as exc:
                raise InjectedCrash(f"crash injected after {request['operation']}") from exc
        return answer

    @property
    def request_id(self) -> str | None:
        return ",".join(self.request_ids) or None


def _user_errors(answer: Any) -> str:
    errors = getattr(answer, "user_errors", None) or getattr(answer, "errors", None) or []
    return "; ".join(
        f"{e.get('code') or ''} {e.get('message')}".strip() + (f" ({e.get('detail')})" if e.get("detail") else "")
        for e in errors
    )[:1000]


def _failed_answer(answer: Any, what: str) -> Outcome:
    text = _user_errors(answer) or "no payload in the answer"
    stale = "COMPARE_QUANTITY_STALE" in text
    detail = "stale plan: the quantity moved since the plan was built; the next build re-plans" if stale else None
    return Outcome("failed", detail=detail, error=f"{what} refused: {text}")


def _segment(value: Any, name: str) -> str:
    text = str(value)
    if not _ID.match(text):
        raise ValueError(f"{name} is not a valid id: {text[:40]!r}")
    return text


# --------------------------------------------------------------------------- request shapes


def requests_for(action: PlannedAction) -> list[dict[str, Any]]:
    """The API inputs the payload stands for, in sending order (what the ``started`` row records)."""
    p = action.payload
    t = action.action_type
    if t == "restock_shopify":
        return [
            {"operation": "inventorySetQuantities", "variables": {"input": p["input"]}},
            {"operation": "tagsAdd", "variables": p["marker"]},
        ]
    if t == "cancel_shopify_order":
        return [{"operation": "orderCancel", "variables": p}]
    if t == "record_refund_in_shopify":
        return [{"operation": "refundCreate", "variables": {"input": p}}]
    if t == "set_tiktok_inventory":
        pid = _segment(p["product_id"], "product_id")
        return [{"operation": f"POST /product/202309/products/{pid}/inventory/update", "body": {"skus": p["skus"]}}]
    if t == "set_tiktok_price":
        pid = _segment(p["product_id"], "product_id")
        return [{"operation": f"POST /product/202309/products/{pid}/prices/update", "body": {"skus": p["skus"]}}]
    if t == "push_tracking_to_tiktok":
        oid = _segment(p["order_id"], "order_id")
        body = {k: p[k] for k in ("tracking_number", "shipping_provider_id", "order_line_item_ids") if p.get(k)}
        return [{"operation": f"POST /fulfillment/202309/orders/{oid}/packages", "body": body}]
    raise ValueError(f"action type {t!r} is not executable")


# --------------------------------------------------------------------------- Shopify


def _quantity(level: dict[str, Any] | None, name: str) -> int | None:
    if level is None:
        return None
    for q in level.get("quantities") or []:
        if q.get("name") == name:
            return int(q.get("quantity") or 0)
    return 0


def restock_shopify(a: Attempt) -> Outcome:
    """Put returned units back (compare-and-set), then tag the order: the tag is what the next build reads.

    Re-read: the marker tag means done. Without it, stock already at the target means an earlier
    attempt's set went through but its tag did not (crash in between): only the tag is sent.
    """
    p = a.action.payload
    inp, marker = p["input"], p["marker"]
    order = a.shopify.order(marker["id"])
    if order is None:
        return Outcome("failed", error=f"order {marker['id']} not found")
    have = {str(t).lower() for t in order.get("tags") or []}
    if all(str(t).lower() in have for t in marker["tags"]):
        return Outcome("skipped", detail="the order already carries the restock marker")
    name = inp["name"]
    current = [
        _quantity(a.shopify.inventory_level(q["inventoryItemId"], q["locationId"]), name) for q in inp["quantities"]
    ]
    targets = [int(q["quantity"]) for q in inp["quantities"]]
    compares = [int(q["compareQuantity"]) for q in inp["quantities"]]
    detail = None
    if current == targets:
        detail = "stock was already at the target (an earlier attempt's set went through); tagged only"
    elif current == compares:
        request = {"operation": "inventorySetQuantities", "variables": {"input": inp}}
        answer = a.send(
            request,
            lambda: a.shopify.inventory_set_quantities(
                name, inp["reason"], inp["quantities"], reference_document_uri=inp.get("referenceDocumentUri")
            ),
        )
        if not answer.ok:
            return _failed_answer(answer, "inventorySetQuantities")
        group = (answer.payload or {}).get("inventoryAdjustmentGroup") or {}
        a.result["inventory_adjustment_group"] = group.get("id")
    else:
        return Outcome(
            "failed",
            detail="stale plan: the quantity moved since the plan was built; the next build re-plans",
            error=f"{name} is {current}, planned from {compares} to {targets}",
        )
    answer = a.send(
        {"operation": "tagsAdd", "variables": marker}, lambda: a.shopify.tags_add(marker["id"], marker["tags"])
    )
    if not answer.ok:
        return _failed_answer(answer, "tagsAdd")
    return Outcome("applied", detail=detail)


def cancel_shopify_order(a: Attempt) -> Outcome:
    """Mirror a TikTok cancellation: cancel in Shopify with restock and without refund."""
    p = a.action.payload
    order = a.shopify.order(p["orderId"])
    if order is None:
        return Outcome("failed", error=f"order {p['orderId']} not found")
    if order.get("cancelledAt"):
        return Outcome("skipped", detail=f"the order was already cancelled at {order['cancelledAt']}")
    request = {"operation": "orderCancel", "variables": p}
    assert_moves_no_money("orderCancel", p)
    answer = a.send(
        request,
        lambda: a.shopify.order_cancel(
            p["orderId"],
            p["reason"],
            refund=p["refund"],
            restock=p["restock"],
            notify_customer=p.get("notifyCustomer", False),
            staff_note=p.get("staffNote"),
        ),
    )
    if not answer.ok:
        return _failed_answer(answer, "orderCancel")
    a.result["job"] = ((answer.payload or {}).get("job") or {}).get("id")
    return Outcome("applied")


def _tiktok_id_of(note: str) -> str:
    """The TikTok return/cancel id a planned refund note ends with ('TikTok Shop return <id>')."""
    return note.rsplit(" ", 1)[-1]


def record_refund_in_shopify(a: Attempt) -> Outcome:
    """Record TikTok's refund in Shopify without moving money (no transactions, ever).

    Re-read: a refund on the order whose note names the same TikTok id means it is recorded.
    """
    p = a.action.payload
    order = a.shopify.order(p["orderId"])
    if order is None:
        return Outcome("failed", error=f"order {p['orderId']} not found")
    tiktok_id = _tiktok_id_of(str(p["note"]))
    for refund in order.get("refunds") or []:
        note = str(refund.get("note") or "")
        if note == p["note"] or tiktok_id in note.split():
            return Outcome("skipped", detail=f"refund {refund.get('id')} already records TikTok {tiktok_id}")
    request = {"operation": "refundCreate", "variables": {"input": p}}
    assert_moves_no_money("refundCreate", request["variables"])
    shipping = (p.get("shipping") or {}).get("amount")
    answer = a.send(
        request,
        lambda: a.shopify.refund_create_record_only(
            p["orderId"], p["note"], p.get("refundLineItems") or [], shipping_amount=shipping
        ),
    )
    if not answer.ok:
        return _failed_answer(answer, "refundCreate")
    a.result["refund"] = ((answer.payload or {}).get("refund") or {}).get("id")
    return Outcome("applied")


# --------------------------------------------------------------------------- TikTok


def _product(a: Attempt, product_id: str) -> dict[str, Any]:
    pid = _segment(product_id, "product_id")
    return a.tiktok.call("GET", f"/product/202309/products/{pid}").data


def _stale(what: str) -> Outcome:
    return Outcome(
        "failed",
        detail="stale plan: TikTok moved since the plan was built; the next build re-plans",
        error=what,
    )


def set_tiktok_inventory(a: Attempt) -> Outcome:
    """Set every non-FBT warehouse of a SKU to the plan's quantity.

    TikTok has no compare-and-set, so the re-read stands in for one: each warehouse must hold
    either the plan's target (done) or what it held when the plan was built (to do).
    """
    p = a.action.payload
    product = _product(a, p["product_id"])
    skus = {str(s.get("id")): s for s in product.get("skus") or []}
    todo, moved = 0, []
    for entry in p["skus"]:
        sku = skus.get(str(entry["id"]))
        if sku is None:
            return Outcome("failed", error=f"SKU {entry['id']} is not in product {p['product_id']}")
        have = {str(i.get("warehouse_id")): int(i.get("quantity") or 0) for i in sku.get("inventory") or []}
        for inv in entry["inventory"]:
            wh, want = str(inv["warehouse_id"]), int(inv["quantity"])
            now = have.get(wh)
            if now == want:
                continue
            if now == a.action.before.get((str(entry["id"]), wh)):
                todo += 1
            else:
                moved.append(f"{entry['id']}@{wh}: {now} (planned from {a.action.before.get((str(entry['id']), wh))})")
    return _write_tiktok_product(
        a, moved, todo, "every warehouse already holds the planned quantity", "inventory", a.tiktok.update_inventory
    )


def _write_tiktok_product(
    a: Attempt, moved: list[str], todo: int, done_detail: str, what: str, call: Callable[[str, Any], Any]
) -> Outcome:
    """The shared end of a TikTok per-product write: refuse a stale plan, skip what is done, else send once.

    TikTok has no compare-and-set, so the caller's re-read decides: ``moved`` lists targets that
    changed since planning (stale), ``todo`` counts those still at their planned-from value.
    """
    if moved:
        return _stale("; ".join(moved))
    if not todo:
        return Outcome("skipped", detail=done_detail)
    p = a.action.payload
    pid = _segment(p["product_id"], "product_id")
    request = {"operation": f"POST /product/202309/products/{pid}/{what}/update", "body": {"skus": p["skus"]}}
    answer = a.send(request, lambda: call(pid, p["skus"]))
    if not answer.ok:
        return _failed_answer(answer, f"{what} update")
    return Outcome("applied")


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def set_tiktok_price(a: Attempt) -> Outcome:
    """Set a SKU's price to Shopify's; the re-read price must be the planned-from one or the target."""
    p = a.action.payload
    product = _product(a, p["product_id"])
    skus = {str(s.get("id")): s for s in product.get("skus") or []}
    todo, moved = 0, []
    for entry in p["skus"]:
        sku = skus.get(str(entry["id"]))
        if sku is None:
            return Outcome("failed", error=f"SKU {entry['id']} is not in product {p['product_id']}")
        price = sku.get("price") or {}
        now, want = _money(price.get("sale_price")), _money(entry["price"]["amount"])
        if now == want and price.get("currency") == entry["price"]["currency"]:
            continue
        before = {_money(v) for v in a.action.before.get(str(entry["id"]), set())}
        if now in before:
            todo += 1
        else:
            moved.append(f"{entry['id']}: {price.get('sale_price')} (planned from {sorted(map(str, before))})")
    return _write_tiktok_product(
        a, moved, todo, "TikTok already has the planned price", "prices", a.tiktok.update_prices
    )


def push_tracking_to_tiktok(a: Attempt) -> Outcome:
    """Ship the order's open lines on TikTok with Shopify's tracking number.

    Re-read: lines that already carry this tracking number are done; only the others are sent.
    """
    p = a.action.payload
    oid = _segment(p["order_id"], "order_id")
    orders = a.tiktok.call("GET", "/order/202309/orders", params={"ids": oid}).data.get("orders") or []
    if not orders:
        return Outcome("failed", error=f"TikTok order {oid} not found")
    lines = {str(li.get("id")): li for li in orders[0].get("line_items") or []}
    wanted = [str(i) for i in p.get("order_line_item_ids") or []] or list(lines)
    open_lines = [i for i in wanted if (lines.get(i) or {}).get("tracking_number") != p["tracking_number"]]
    if not open_lines:
        return Outcome("skipped", detail="every line already carries this tracking number")
    body = {
        "tracking_number": p["tracking_number"],
        "shipping_provider_id": p["shipping_provider_id"],
        "order_line_item_ids": open_lines,
    }
    request = {"operation": f"POST /fulfillment/202309/orders/{oid}/packages", "body": body}
    answer = a.send(
        request,
        lambda: a.tiktok.mark_package_shipped(oid, p["tracking_number"], p["shipping_provider_id"], open_lines),
    )
    a.result["package_id"] = answer.data.get("package_id")
    detail = None if open_lines == wanted else f"{len(wanted) - len(open_lines)} line(s) already shipped with it"
    return Outcome("applied", detail=detail)


EXECUTORS: dict[str, Callable[[Attempt], Outcome]] = {
    "restock_shopify": restock_shopify,
    "cancel_shopify_order": cancel_shopify_order,
    "record_refund_in_shopify": record_refund_in_shopify,
    "set_tiktok_inventory": set_tiktok_inventory,
    "set_tiktok_price": set_tiktok_price,
    "push_tracking_to_tiktok": push_tracking_to_tiktok,
}
