"""Shopify Admin GraphQL client: auth, cost-bucket pacing, retries, paging with nested completion, writes.

Built for the production API (the sandbox is only its default endpoint in tests). What it
guarantees:

* **Pacing.** Every response carries ``extensions.cost.throttleStatus``. Before each call the
  client projects the bucket (last ``currentlyAvailable`` + ``restoreRate`` x elapsed, capped at
  ``maximumAvailable``) and, if that is below the call's expected *requested* cost, sleeps exactly
  the deficit / restoreRate. Shopify admits a query only if the bucket holds its requested cost
  (the unused part is refunded after execution), so waiting for the requested cost is what keeps
  a steady extraction free of THROTTLED answers while the bucket stays busy. Expected costs come
  from ``queries.node_cost`` and are corrected by the ``requestedQueryCost`` each response reports.
* **Page sizes.** ``first`` is the largest value whose page fits both the 1000-point query limit
  and the bucket's maximum; nested sizes are shrunk (``queries.fit``) when the bucket is small.
* **Completeness.** A nested connection with ``hasNextPage`` is finished by follow-up queries
  (``node(id:) { ... on Order { lineItems(after:) } }``); a plain list that came back full is
  re-read whole. Nothing is truncated silently.
* **Errors.** GraphQL ``errors`` become typed errors: THROTTLED -> ``RateLimited`` (retried after
  the computed refill time), ACCESS_DENIED / HTTP 401/403 -> ``AuthError``, field errors ->
  ``FieldErrors`` (the record is quarantined, the run goes on), anything else -> ``ApiError`` with
  the message and the ``x-request-id``. Messages never carry the URL, a header or the token.
* **Writes** are sent once: after an ambiguous failure (timeout, cut or truncated body, 5xx) they
  raise ``OutcomeUnknown`` and the caller re-reads before trying again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from extract.common.errors import ApiError, AuthError, RateLimited
from extract.common.http import CallStats, RetryPolicy, send_json
from extract.common.redact import redact, register_secret
from extract.shopify import queries as q
from extract.shopify import settings as cfg
from shoptok.connections import ShopifyConnection

log = logging.getLogger("extract.shopify")

PLATFORM = cfg.PLATFORM
_API_PATH = "graphql"  # what error messages name instead of the URL


class FieldErrors(ApiError):
    """GraphQL errors that point at fields of specific records (``errors[].path``).

    The records cannot be served as typed, so they are quarantined; the others on the page load.
    """

    def __init__(self, errors: list[dict[str, Any]], request_id: str | None) -> None:
        first = errors[0]
        super().__init__(PLATFORM, redact(str(first.get("message"))), request_id=request_id, path=_API_PATH)
        self.errors = errors


class MaxCostExceeded(ApiError):
    """A query Shopify will never admit: over the single-query limit, or over the whole bucket.

    ``cost`` is what Shopify computed for it, ``max_cost`` the limit it reported.
    """

    def __init__(self, message: str, cost: int | None, max_cost: int | None, request_id: str | None) -> None:
        super().__init__(PLATFORM, message, code="MAX_COST_EXCEEDED", request_id=request_id, path=_API_PATH)
        self.cost = cost
        self.max_cost = max_cost


@dataclass
class ThrottleState:
    """The cost bucket as last reported, projected forward at ``restore_rate``."""

    maximum: float | None = None
    available: float = 0.0
    restore_rate: float = 0.0
    seen_at: float = 0.0

    def observe(self, status: dict[str, Any], now: float) -> None:
        self.maximum = float(status["maximumAvailable"])
        self.available = float(status["currentlyAvailable"])
        self.restore_rate = float(status["restoreRate"])
        self.seen_at = now

    def projected(self, now: float) -> float | None:
        if self.maximum is None:
            return None
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.seen_at))

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket holds ``cost`` (0 when unknown or already there)."""
        have = self.projected(now)
        if have is None or self.restore_rate <= 0 or have >= cost:
            return 0.0
        return (min(cost, self.maximum or cost) - have) / self.restore_rate


@dataclass
class CostStats:
    """Query costs as reported in ``extensions.cost``; the pacing benchmark reads these."""

    queries: int = 0
    requested: int = 0
    actual: int = 0
    paced_s: float = 0.0
    first_at: float | None = None
    last_at: float | None = None
    #: bucket level at the first answer and at the last one
    first_available: float | None = None
    last_available: float | None = None

    @property
    def window_s(self) -> float:
        if self.first_at is None or self.last_at is None:
            return 0.0
        return max(0.0, self.last_at - self.first_at)

    def throughput(self) -> float:
        """Actual cost per second between the first request and the last answer."""
        return self.actual / self.window_s if self.window_s else 0.0

    def refill_utilisation(self, restore_rate: float) -> float:
        """Share of the bucket's refill during the window that queries used.

        Unlike ``throughput``, this does not count points the bucket held before the first call
        (a full bucket makes a short run look faster than the refill rate).
        """
        if not self.window_s or restore_rate <= 0 or self.first_available is None or self.last_available is None:
            return 0.0
        from_refill = self.actual - (self.first_available - self.last_available)
        return from_refill / (restore_rate * self.window_s)


@dataclass
class Result:
    data: dict[str, Any]
    cost: dict[str, Any]
    request_id: str | None


@dataclass
class WriteResult:
    """A mutation's payload, its userErrors (empty on success) and the request id for support."""

    payload: dict[str, Any] | None
    user_errors: list[dict[str, Any]]
    request_id: str | None

    @property
    def ok(self) -> bool:
        return not self.user_errors and self.payload is not None


@dataclass
class Poisoned:
    """A record the API could not serve (field errors) or page completely; quarantined by the source."""

    id: str | None
    field: str
    reason: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    records: list[dict[str, Any]]
    poisoned: list[Poisoned] = field(default_factory=list)


def error_field(path: list[Any]) -> str:
    """``["node", "lineItems", "nodes", 0, "quantity"]`` -> ``lineItems.nodes[0].quantity``."""
    out = ""
    for part in path[1:]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or ".".join(map(str, path))


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class ShopifyClient:
    """One shop's Admin GraphQL API. Thread-safe: calls are serialised so pacing sees one bucket."""

    def __init__(
        self,
        conn: ShopifyConnection,
        policy: RetryPolicy | None = None,
        stats: CallStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        http: httpx.Client | None = None,
        bulk_polling: cfg.BulkPolling | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.conn = conn
        self.policy = policy or RetryPolicy()
        self.stats = stats or CallStats()
        self.sleep = sleep
        self.monotonic = monotonic
        self.bulk_polling = bulk_polling or cfg.BulkPolling()
        self.throttle = ThrottleState()
        self.cost = CostStats()
        self.http = http or httpx.Client(timeout=self.policy.timeout_s)
        self.rng = rng or random.Random()
        self._lock = threading.RLock()
        #: node costs learned from requestedQueryCost, per query text (corrects queries.node_cost)
        self._learned: dict[str, float] = {}
        #: the single-query limit; lowered if Shopify reports a smaller maxCost
        self.max_query_cost = cfg.MAX_QUERY_COST
        register_secret(conn.access_token)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- transport

    @property
    def budget(self) -> int:
        """What one query may request: the single-query limit, or less if the bucket is smaller."""
        if self.throttle.maximum is None:
            return self.max_query_cost
        return int(min(self.max_query_cost, self.throttle.maximum))

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        expected_cost: float = 1,
        repeatable: bool = True,
    ) -> Result:
        """POST one GraphQL document, paced and retried; raises typed errors (see module doc)."""
        body = {"query": query, "variables": variables or {}}
        headers = {"X-Shopify-Access-Token": self.conn.access_token, "Content-Type": "application/json"}

        def build() -> httpx.Request:
            self._pace(expected_cost)
            return self.http.build_request("POST", self.conn.graphql_url, json=body, headers=headers)

        def on_wait(reason: str, wait: float) -> None:
            log.info("shopify %s: %s; retrying in %.2f s", self.conn.shop_domain, reason, wait)

        with self._lock:
            payload, resp = send_json(
                self.http,
                build,
                platform=PLATFORM,
                path=_API_PATH,
                policy=self.policy,
                stats=self.stats,
                classify=self._classify,
                rng=self.rng,
                sleep=self.sleep,
                on_wait=on_wait,
                repeatable=repeatable,
            )
        cost = (payload.get("extensions") or {}).get("cost") or {}
        return Result(payload.get("data") or {}, cost, resp.headers.get("x-request-id"))

    def _pace(self, expected_cost: float) -> None:
        now = self.monotonic()
        wait = self.throttle.wait_for(expected_cost, now)
        if wait > 0:
            self.sleep(wait)
            self.cost.paced_s += wait
            self.stats.wait_s += wait
        if self.cost.first_at is None:
            self.cost.first_at = self.monotonic()

    def _classify(self, resp: httpx.Response, payload: Any) -> None:
        request_id = resp.headers.get("x-request-id")
        cost = (payload.get("extensions") or {}).get("cost") if isinstance(payload, dict) else None
        if cost and cost.get("throttleStatus"):
            self.throttle.observe(cost["throttleStatus"], self.monotonic())
            if self.cost.first_available is None:
                self.cost.first_available = self.throttle.available
            self.cost.last_available = self.throttle.available
        if cost and cost.get("actualQueryCost") is not None:
            self.cost.queries += 1
            self.cost.requested += int(cost.get("requestedQueryCost") or 0)
            self.cost.actual += int(cost["actualQueryCost"])
            self.cost.last_at = self.monotonic()
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if resp.status_code in (401, 403):
            raise AuthError(
                PLATFORM,
                "access token rejected (check the app's token and API scopes): " + _error_text(errors),
                http_status=resp.status_code,
                request_id=request_id,
                path=_API_PATH,
            )
        if resp.status_code >= 400:
            raise ApiError(
                PLATFORM, _error_text(errors), http_status=resp.status_code, request_id=request_id, path=_API_PATH
            )
        if not isinstance(payload, dict):
            raise ApiError(PLATFORM, "response is not a JSON object", request_id=request_id, path=_API_PATH)
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
            if "THROTTLED" in codes:
                requested = float((cost or {}).get("requestedQueryCost") or 0)
                if self.throttle.maximum is not None and requested > self.throttle.maximum:
                    raise MaxCostExceeded(
                        f"query costs {requested:.0f}, more than the whole bucket ({self.throttle.maximum:.0f})",
                        int(requested),
                        int(self.throttle.maximum),
                        request_id,
                    )
                wait = self.throttle.wait_for(requested, self.monotonic())
                raise RateLimited(PLATFORM, "THROTTLED", retry_after=wait, request_id=request_id, path=_API_PATH)
            if "ACCESS_DENIED" in codes:
                raise AuthError(
                    PLATFORM, "ACCESS_DENIED: " + _error_text(errors), request_id=request_id, path=_API_PATH
                )
            if "MAX_COST_EXCEEDED" in codes:
                ext = next((e.get("extensions") or {} for e in errors if isinstance(e, dict)), {})
                raise MaxCostExceeded(_error_text(errors), ext.get("cost"), ext.get("maxCost"), request_id)
            if isinstance(errors, list) and all(isinstance(e, dict) and e.get("path") for e in errors):
                raise FieldErrors(errors, request_id)
            raise ApiError(PLATFORM, _error_text(errors), request_id=request_id, path=_API_PATH)
        if "data" not in payload:
            raise ApiError(PLATFORM, "response carries no data", request_id=request_id, path=_API_PATH)

    def ensure_throttle_known(self) -> None:
        """Learn the bucket size with a 1-point query before sizing pages against it."""
        if self.throttle.maximum is None:
            self.execute("query Probe { shop { id } }", expected_cost=1)

    # ----------------------------------------------------------------- paging

    def pages(
        self,
        listing: q.Listing,
        variables: dict[str, Any] | None = None,
        *,
        after: str | None = None,
        isolate: bool = True,
    ) -> Iterator[Page]:
        """Every page of a listing, each record's nested connections completed.

        ``isolate``: when a page fails with field errors, step through it record by record so
        only the bad records are set aside (top-level listings); follow-ups let errors rise to
        the record that owns them.
        """
        self.ensure_throttle_known()
        listing = listing.fitted(self.budget)
        base = dict(variables or {})
        while True:
            first = self._page_size(listing)
            page_vars = {**base, "first": first} if listing.plain else {**base, "first": first, "after": after}
            expected = q.page_cost(listing.spec, first, listing.overhead) * self._scale(listing)
            try:
                result = self.execute(listing.text, page_vars, expected_cost=expected)
            except MaxCostExceeded as exc:
                if isinstance(exc.max_cost, int) and exc.max_cost < self.budget:
                    self.max_query_cost = exc.max_cost
                    listing = listing.fitted(self.budget)
                else:
                    self._learn(listing, first, exc.cost, over_limit=True)
                continue
            except FieldErrors:
                if not isolate or listing.plain:
                    raise
                page, info = self._isolate(listing, page_vars)
                yield page
                if not info.get("hasNextPage"):
                    return
                after = info.get("endCursor")
                continue
            self._learn(listing, first, result.cost.get("requestedQueryCost"))
            conn = _dig(result.data, listing.path)
            if conn is None:  # the holder of a follow-up is gone (deleted meanwhile)
                return
            if listing.plain:
                if len(conn) >= first:
                    raise IncompleteList(listing.spec.field, first)
                yield Page(self._complete_all(conn, listing.spec, isolate=False).records)
                return
            yield self._complete_all(conn.get("nodes") or [], listing.spec, isolate=isolate)
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    def _scale(self, listing: q.Listing) -> float:
        learned = self._learned.get(listing.text)
        estimate = q.node_cost(listing.spec)
        return max(1.0, learned / estimate) if learned else 1.0

    def _page_size(self, listing: q.Listing) -> int:
        node = q.node_cost(listing.spec) * self._scale(listing)
        return max(1, min(cfg.MAX_PAGE_SIZE, int((self.budget - listing.overhead - 2) // node)))

    def _learn(self, listing: q.Listing, first: int, requested: Any, *, over_limit: bool = False) -> None:
        """Correct the node-cost estimate from what Shopify computed for a page of ``first`` nodes."""
        if not isinstance(requested, int | float) or first <= 0:
            if over_limit:
                raise MaxCostExceeded("query over the cost limit and no cost reported", None, None, None)
            return
        node = (float(requested) - listing.overhead - (0 if listing.plain else 2)) / first
        if node > max(q.node_cost(listing.spec), self._learned.get(listing.text, 0.0)):
            self._learned[listing.text] = node
            log.warning(
                "shopify %s: %s costs %.1f per node, estimated %d; page size adjusted",
                self.conn.shop_domain,
                listing.spec.field,
                node,
                q.node_cost(listing.spec),
            )
        elif over_limit:
            raise MaxCostExceeded(f"{listing.spec.field} page of {first} costs {requested}", int(requested), None, None)

    def _isolate(self, listing: q.Listing, page_vars: dict[str, Any]) -> tuple[Page, dict[str, Any]]:
        """Re-read a failing page as ids, then each record alone: bad records become ``Poisoned``."""
        ids = q.ids_listing(listing)
        first = int(page_vars["first"])
        result = self.execute(ids.text, page_vars, expected_cost=q.page_cost(ids.spec, first, ids.overhead))
        conn = _dig(result.data, ids.path) or {}
        one = q.node_query(listing.spec)
        records: list[dict[str, Any]] = []
        poisoned: list[Poisoned] = []
        for stub in conn.get("nodes") or []:
            try:
                record = self.execute(one, {"id": stub["id"]}, expected_cost=1 + q.node_cost(listing.spec)).data
            except FieldErrors as exc:
                poisoned.extend(_poisoned(stub["id"], exc.errors, stub))
                continue
            if record.get("node") is not None:
                page = self._complete_all([record["node"]], listing.spec, isolate=True)
                records.extend(page.records)
                poisoned.extend(page.poisoned)
        return Page(records, poisoned), conn.get("pageInfo") or {}

    def _complete_all(self, nodes: list[dict[str, Any]], spec: q.Spec, *, isolate: bool) -> Page:
        page = Page([])
        for node in nodes:
            try:
                self.complete(node, spec)
            except FieldErrors as exc:
                if not isolate:
                    raise
                page.poisoned.extend(_poisoned(node.get("id"), exc.errors, node))
                continue
            except IncompleteList as exc:
                if not isolate:
                    raise
                page.poisoned.append(Poisoned(node.get("id"), exc.field, exc.platform_message, node))
                continue
            page.records.append(node)
        return page

    def complete(self, record: dict[str, Any], spec: q.Spec) -> dict[str, Any]:
        """Finish every nested connection/list of ``record`` in place; connections end as ``{"nodes": [...]}``."""
        for child in spec.children:
            value = record.get(child.field)
            if child.plain:
                items = value or []
                if len(items) >= child.first:  # possibly truncated: read the whole list again
                    items = self._all_of(spec.node_type, record["id"], child)
                else:
                    for item in items:
                        self.complete(item, child)
                record[child.field] = items
                continue
            nodes = list((value or {}).get("nodes") or [])
            for node in nodes:
                self.complete(node, child)
            info = (value or {}).get("pageInfo") or {}
            if info.get("hasNextPage"):
                listing = q.followup_listing(spec.node_type, child)
                for page in self.pages(listing, {"id": record["id"]}, after=info.get("endCursor"), isolate=False):
                    nodes.extend(page.records)
            record[child.field] = {"nodes": nodes}
        return record

    def _all_of(self, holder_type: str, holder_id: str, child: q.Spec) -> list[dict[str, Any]]:
        """A plain list read whole: its nested connections ask for one node each (``queries.narrow``)
        so the list itself can be as long as possible; their follow-ups fetch the rest."""
        listing = q.followup_listing(holder_type, q.narrow(child))
        return [r for page in self.pages(listing, {"id": holder_id}, isolate=False) for r in page.records]

    # ----------------------------------------------------------------- read helpers

    def order(self, order_id: str) -> dict[str, Any] | None:
        """One order with every nested connection complete (for writeback's re-read before a retry)."""
        return self._one(q.ORDERS, order_id)

    def _one(self, spec: q.Spec, ident: str) -> dict[str, Any] | None:
        self.ensure_throttle_known()
        spec = q.fit(spec, self.budget, 1)
        record = self.execute(q.node_query(spec), {"id": ident}, expected_cost=1 + q.node_cost(spec)).data.get("node")
        return self.complete(record, spec) if record is not None else None

    def inventory_level(self, inventory_item_id: str, location_id: str) -> dict[str, Any] | None:
        """The inventory level of one item at one location, with its available/committed/on_hand."""
        text = (
            "query Level($item: ID!, $location: ID!) { inventoryItem(id: $item) { "
            f"inventoryLevel(locationId: $location) {{ {q.render_node(q.INVENTORY_LEVELS)} }} }} }}"
        )
        data = self.execute(
            text,
            {"item": inventory_item_id, "location": location_id},
            expected_cost=2 + q.node_cost(q.INVENTORY_LEVELS),
        ).data
        return _dig(data, ("inventoryItem", "inventoryLevel"))

    # ----------------------------------------------------------------- writes

    def _write(self, name: str, text: str, variables: dict[str, Any]) -> WriteResult:
        result = self.execute(text, variables, expected_cost=cfg.MUTATION_COST, repeatable=False)
        payload = result.data.get(name)
        errors = list((payload or {}).get("userErrors") or [])
        errors += [e for e in (payload or {}).get("orderCancelUserErrors") or [] if e not in errors]
        log.info(
            "shopify %s: %s %s (request id %s)",
            self.conn.shop_domain,
            name,
            "refused" if errors else "done",
            result.request_id,
        )
        return WriteResult(payload, errors, result.request_id)

    def inventory_set_quantities(
        self,
        name: str,
        reason: str,
        quantities: list[dict[str, Any]],
        *,
        reference_document_uri: str | None = None,
    ) -> WriteResult:
        """Set absolute quantities with compare-and-swap: each entry must carry ``compareQuantity``.

        ``ignoreCompareQuantity`` is never sent: a repair computed from a stale read must fail
        (COMPARE_QUANTITY_STALE) rather than overwrite a quantity that moved meanwhile.
        """
        if name not in cfg.SETTABLE_QUANTITY_NAMES:
            raise ValueError(f"quantity name must be one of {sorted(cfg.SETTABLE_QUANTITY_NAMES)}, not {name!r}")
        if reason not in cfg.INVENTORY_REASONS:
            raise ValueError(f"unknown inventory reason {reason!r}")
        wanted = ("inventoryItemId", "locationId", "quantity", "compareQuantity")
        for i, entry in enumerate(quantities):
            missing = [k for k in wanted if entry.get(k) is None]
            if missing:
                raise ValueError(f"quantities[{i}] lacks {missing} (compare-and-swap needs compareQuantity)")
        text = (
            "mutation Set($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { "
            "inventoryAdjustmentGroup { id createdAt reason changes { name delta quantityAfterChange "
            "item { id } location { id } } } userErrors { field message code } } }"
        )
        payload: dict[str, Any] = {
            "name": name,
            "reason": reason,
            "ignoreCompareQuantity": False,
            "quantities": [{k: entry[k] for k in wanted} for entry in quantities],
        }
        if reference_document_uri:
            payload["referenceDocumentUri"] = reference_document_uri
        return self._write("inventorySetQuantities", text, {"input": payload})

    def order_cancel(
        self,
        order_id: str,
        reason: str,
        refund: bool = False,
        restock: bool = True,
        notify_customer: bool = False,
        staff_note: str | None = None,
    ) -> WriteResult:
        """Cancel an order (TikTok cancellations are mirrored without refunding money by default)."""
        if reason not in cfg.CANCEL_REASONS:
            raise ValueError(f"cancel reason must be one of {sorted(cfg.CANCEL_REASONS)}, not {reason!r}")
        text = (
            "mutation Cancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, "
            "$notifyCustomer: Boolean, $staffNote: String) { orderCancel(orderId: $orderId, reason: $reason, "
            "refund: $refund, restock: $restock, notifyCustomer: $notifyCustomer, staffNote: $staffNote) { "
            "job { id done } orderCancelUserErrors { field message code } userErrors { field message } } }"
        )
        variables = {
            "orderId": order_id,
            "reason": reason,
            "refund": refund,
            "restock": restock,
            "notifyCustomer": notify_customer,
            "staffNote": staff_note,
        }
        return self._write("orderCancel", text, variables)

    def fulfillment_create(
        self,
        fulfillment_order_id: str,
        line_items: list[dict[str, Any]] | None,
        tracking: dict[str, str | None] | None,
        *,
        notify_customer: bool = False,
    ) -> WriteResult:
        """Fulfil ``line_items`` ([{id, quantity}] of fulfillment-order line items; None = all remaining)."""
        group: dict[str, Any] = {"fulfillmentOrderId": fulfillment_order_id}
        if line_items:
            group["fulfillmentOrderLineItems"] = [
                {"id": li["id"], "quantity": int(li["quantity"])} for li in line_items
            ]
        fulfillment: dict[str, Any] = {"lineItemsByFulfillmentOrder": [group], "notifyCustomer": notify_customer}
        if tracking:
            fulfillment["trackingInfo"] = {k: tracking.get(k) for k in ("number", "company", "url") if tracking.get(k)}
        text = (
            "mutation Fulfil($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) { "
            "fulfillment { id status createdAt trackingInfo { number company url } } userErrors { field message } } }"
        )
        return self._write("fulfillmentCreate", text, {"fulfillment": fulfillment})

    def refund_create_record_only(
        self,
        order_id: str,
        note: str,
        refund_line_items: list[dict[str, Any]],
        shipping_amount: Decimal | str | None = None,
        *,
        transactions: list[dict[str, Any]] | None = None,
    ) -> WriteResult:
        """Record a refund that moves no money (TikTok refunded the buyer; Shopify must only reflect it).

        ``transactions`` exists only to be refused: a money-moving refund from a repair job would
        pay the buyer twice (reference §3.4, double-refund risk).
        """
        if transactions:
            raise ValueError("refund_create_record_only never sends transactions: it must not move money")
        refund: dict[str, Any] = {
            "orderId": order_id,
            "note": note,
            "notify": False,
            "refundLineItems": [
                {k: li[k] for k in ("lineItemId", "quantity", "restockType", "locationId") if li.get(k) is not None}
                for li in refund_line_items
            ],
        }
        if shipping_amount is not None:
            refund["shipping"] = {"amount": str(Decimal(str(shipping_amount)))}
        assert "transactions" not in refund
        text = (
            "mutation Refund($input: RefundInput!) { refundCreate(input: $input) { "
            "refund { id createdAt note } userErrors { field message } } }"
        )
        return self._write("refundCreate", text, {"input": refund})

    def tags_add(self, ident: str, tags: list[str]) -> WriteResult:
        text = (
            "mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { "
            "node { id } userErrors { field message } } }"
        )
        return self._write("tagsAdd", text, {"id": ident, "tags": list(tags)})


class IncompleteList(ApiError):
    """A plain list (no cursor) still full at the widest follow-up: Shopify cannot page it further."""

    def __init__(self, field_name: str, size: int) -> None:
        super().__init__(PLATFORM, f"{field_name} holds {size} or more entries; the API cannot page this list")
        self.field = field_name


def _poisoned(ident: str | None, errors: list[dict[str, Any]], payload: dict[str, Any]) -> list[Poisoned]:
    first = errors[0]
    return [Poisoned(ident, error_field(first.get("path") or []), redact(str(first.get("message"))), payload)]


def _error_text(errors: Any) -> str:
    """Shopify's error messages, joined and redacted (they never hold the token, but be sure)."""
    if isinstance(errors, list):
        parts = [str(e.get("message") if isinstance(e, dict) else e) for e in errors]
        return redact("; ".join(parts))[:500]
    if isinstance(errors, dict):
        return redact("; ".join(f"{k}: {v}" for k, v in errors.items()))[:500]
    return redact(str(errors))[:500] if errors else "unknown error"
