"""Per-shop indexes over the merchant state, global IDs, cursors and Relay paging.

The records in ``ConnectionState.shopify`` stay the single source of truth; this module only adds
lookups (id -> record, variant -> product, item x location -> level, ...) and sorted views that the
GraphQL resolvers page through.  Sorted views are cached per (entity, sort key, search string),
because an extractor asks for the same view page after page, and dropped when a mutation touches
that entity.  If anything else swaps or resizes a record list the whole index is rebuilt.

Cursors follow Shopify's shape: base64 of ``{"last_id": N, "last_value": V}`` where ``V`` is the
sort value of the last row.  Paging resumes strictly after ``(V, N)`` in sort order, so a record
that is updated between pages (and so moves to the end of an ``UPDATED_AT`` view) is seen again
later instead of shifting other rows, and the union of pages is the whole set with no repeats.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

from sandbox.recordstore import DiskRecords, is_disk
from sandbox.shopify.search import Field, SearchError, compile_query, gid_number
from sandbox.state import ConnectionState

Record = dict[str, Any]

MAX_PAGE_SIZE = 250
_GID_PREFIX = "gid://shopify/"


def gid(type_name: str, number: int | str) -> str:
    return f"{_GID_PREFIX}{type_name}/{number}"


def gid_type(value: Any) -> str | None:
    s = str(value)
    if not s.startswith(_GID_PREFIX):
        return None
    rest = s[len(_GID_PREFIX) :]
    type_name, _, tail = rest.partition("/")
    return type_name if tail else None


def num(value: Any) -> int:
    """Numeric part of a gid; 0 when the value carries none (keeps sort keys comparable)."""
    try:
        return gid_number(value)
    except SearchError:
        return 0


def legacy_id(record: Record) -> str:
    return str(record.get("legacyResourceId") or num(record.get("id")))


def _amount(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


# --------------------------------------------------------------------------- cursors and paging


def encode_cursor(last_id: int, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        obj = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return obj["last_value"], int(obj["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise GraphQLError(f"Invalid cursor: {cursor!r}") from exc


class Page:
    """A Relay connection slice; ``edges`` (and their cursors) are only built when selected."""

    __slots__ = ("nodes", "pageInfo", "_positions", "_cursor_at")

    def __init__(self, nodes: list[Any], positions: list[int], cursor_at: Callable[[int], str], info: Record):
        self.nodes = nodes
        self._positions = positions
        self._cursor_at = cursor_at
        self.pageInfo = info

    @property
    def edges(self) -> list[Edge]:
        return [Edge(n, p, self._cursor_at) for p, n in zip(self._positions, self.nodes, strict=True)]


class Edge:
    """A Relay edge whose cursor is only encoded if the query selects it (bulk reads select nodes only)."""

    __slots__ = ("node", "_position", "_cursor_at")

    def __init__(self, node: Any, position: int, cursor_at: Callable[[int], str]) -> None:
        self.node = node
        self._position = position
        self._cursor_at = cursor_at

    @property
    def cursor(self) -> str:
        return self._cursor_at(self._position)


def paginate(
    items: list[Any],
    args: Record,
    keys: list[tuple[Any, int]] | None = None,
    ids: Callable[[Any], int] | None = None,
    bulk: bool = False,
) -> Page:
    """Slice ``items`` (ascending by ``keys``, or by position when ``keys`` is None) per Relay args.

    ``reverse`` flips the logical order; ``after``/``before`` are located by binary search on the
    keys, so a cursor stays valid after other rows change.  In bulk mode ``first``/``after`` and
    friends are ignored, as Shopify does for bulk operations.
    """
    n = len(items)
    reverse = bool(args.get("reverse"))

    def phys(i: int) -> int:
        return n - 1 - i if reverse else i

    if keys is not None:

        def cursor_at(p: int) -> str:
            value, last_id = keys[p]
            return encode_cursor(last_id, value)
    else:

        def cursor_at(p: int) -> str:
            node = items[p]
            return encode_cursor(ids(node) if ids else p, p)

    first, last = args.get("first"), args.get("last")
    if bulk:
        lo, hi = 0, n
    else:
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last")
        for name, value in (("first", first), ("last", last)):
            if value is not None and value < 0:
                raise GraphQLError(f"Argument '{name}' on Field must be a non-negative integer.")
            if value is not None and value > MAX_PAGE_SIZE:
                raise GraphQLError(f"The '{name}' argument must be less than or equal to {MAX_PAGE_SIZE}.")
        lo, hi = 0, n
        after, before = args.get("after"), args.get("before")
        if after:
            lo = max(lo, _logical_after(after, keys, n, reverse))
        if before:
            hi = min(hi, _logical_before(before, keys, n, reverse))
        if first is not None:
            hi = min(hi, lo + first)
        if last is not None:
            lo = max(lo, hi - last)
    lo = min(lo, n)
    hi = max(lo, min(hi, n))
    positions = [phys(i) for i in range(lo, hi)]
    nodes = [items[p] for p in positions]
    info = {
        "hasNextPage": hi < n,
        "hasPreviousPage": lo > 0,
        "startCursor": cursor_at(positions[0]) if positions else None,
        "endCursor": cursor_at(positions[-1]) if positions else None,
    }
    return Page(nodes, positions, cursor_at, info)


def _key_of(cursor: str, keys: list[tuple[Any, int]] | None) -> Any:
    value, last_id = decode_cursor(cursor)
    if keys is None:
        if not isinstance(value, int):
            raise GraphQLError(f"Invalid cursor: {cursor!r}")
        return value
    return (value, last_id)


def _logical_after(cursor: str, keys: list[tuple[Any, int]] | None, n: int, reverse: bool) -> int:
    k = _key_of(cursor, keys)
    try:
        if keys is None:
            return n - k if reverse else k + 1
        return n - bisect_left(keys, k) if reverse else bisect_right(keys, k)
    except TypeError as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


def _logical_before(cursor: str, keys: list[tuple[Any, int]] | None, n: int, reverse: bool) -> int:
    k = _key_of(cursor, keys)
    try:
        if keys is None:
            return n - 1 - k if reverse else k
        return n - bisect_right(keys, k) if reverse else bisect_left(keys, k)
    except TypeError as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


# --------------------------------------------------------------------------- entity definitions


def _order_fulfillment_aliases(r: Record) -> list[str]:
    status = (r.get("displayFulfillmentStatus") or "").lower()
    aliases = {"fulfilled": ["shipped"], "unfulfilled": ["unshipped"], "partially_fulfilled": ["partial"]}
    return [status, *aliases.get(status, [])]


def _order_status(r: Record) -> list[str]:
    out = ["any"]
    if r.get("cancelledAt"):
        out.append("cancelled")
    if r.get("closedAt"):
        out.append("closed")
    else:
        out.append("not_closed")
        if not r.get("cancelledAt"):
            out.append("open")
    return out


class ShopStore:
    """Indexes for one shop; build lazily, keep in sync on writes, rebuild if the lists change."""

    _VIEW_CACHE_SIZE = 64

    def __init__(self, conn: ConnectionState):
        self.conn = conn
        self._signature: tuple[Any, ...] | None = None
        self._views: OrderedDict[tuple[Any, ...], tuple[list[Record], list[tuple[Any, int]], list[Any]]] = OrderedDict()
        self._children: dict[str, dict[str, Any]] | None = None
        self._next_num: dict[str, int] = {}
        self.refresh()

    # ----------------------------------------------------------------- building

    def _current_signature(self) -> tuple[Any, ...]:
        s = self.conn.shopify
        return tuple(
            (id(s.get(e)), len(s.get(e) or ())) for e in ("orders", "products", "locations", "inventory_levels")
        )

    def refresh(self) -> None:
        """Rebuild every index if a record list was replaced or resized outside the emulator."""
        sig = self._current_signature()
        if sig == self._signature:
            return
        self._signature = sig
        self._views.clear()
        self._children = None
        self._next_num.clear()
        s = self.conn.shopify
        self.orders: list[Record] = s.setdefault("orders", [])
        self.products: list[Record] = s.setdefault("products", [])
        self.levels: list[Record] = s.setdefault("inventory_levels", [])
        locations = s.setdefault("locations", [])
        if not locations:
            locations = [
                {"id": loc["id"], "name": loc.get("name", ""), "isActive": True, "address": {}}
                for loc in self.conn.manifest["shopify"].get("locations", [])
            ]
        self.locations: list[Record] = locations
        self.order_by_id: Mapping[str, Record] = (
            self.orders.id_map() if is_disk(self.orders) else {o["id"]: o for o in self.orders}  # type: ignore[attr-defined]
        )
        self.product_by_id = {p["id"]: p for p in self.products}
        self.location_by_id = {loc["id"]: loc for loc in self.locations}
        self.variants: list[Record] = []
        self.variant_by_id: dict[str, Record] = {}
        self.product_of_variant: dict[str, Record] = {}
        self.items: list[Record] = []
        self.item_by_id: dict[str, Record] = {}
        self.variant_of_item: dict[str, Record] = {}
        for product in self.products:
            for variant in (product.get("variants") or {}).get("nodes", []):
                self.variants.append(variant)
                self.variant_by_id[variant["id"]] = variant
                self.product_of_variant[variant["id"]] = product
                item = variant.get("inventoryItem")
                if item and item.get("id"):
                    self.items.append(item)
                    self.item_by_id[item["id"]] = item
                    self.variant_of_item[item["id"]] = variant
        self.level_by_id: dict[str, Record] = {}
        self.levels_by_item: dict[str, list[Record]] = {}
        self.levels_by_location: dict[str, list[Record]] = {}
        self.level_by_pair: dict[tuple[str, str], Record] = {}
        for level in self.levels:
            item_id = level["item"]["id"]
            loc_id = level["location"]["id"]
            self.level_by_id[level["id"]] = level
            self.levels_by_item.setdefault(item_id, []).append(level)
            self.levels_by_location.setdefault(loc_id, []).append(level)
            self.level_by_pair[(item_id, loc_id)] = level
        for lst in self.levels_by_item.values():
            lst.sort(key=lambda lv: num(lv["location"]["id"]))
        for lst in self.levels_by_location.values():
            lst.sort(key=lambda lv: num(lv["item"]["id"]))

    @property
    def children(self) -> dict[str, dict[str, Any]]:
        """Nested order objects by id (line items, fulfillment orders, ...): built on first use."""
        if self._children is None and is_disk(self.orders):
            self._children = _DiskChildren(self.orders)  # type: ignore[arg-type,assignment]
        if self._children is None:
            ch: dict[str, dict[str, Any]] = {
                "LineItem": {},
                "FulfillmentOrder": {},
                "FulfillmentOrderLineItem": {},
                "Fulfillment": {},
                "Refund": {},
                "OrderTransaction": {},
            }
            for order in self.orders:
                self._index_order_children(order, ch)
            self._children = ch
        return self._children

    def _index_order_children(self, order: Record, ch: dict[str, dict[str, Any]]) -> None:
        for li in (order.get("lineItems") or {}).get("nodes", []):
            ch["LineItem"][li["id"]] = (order, li)
        for fo in (order.get("fulfillmentOrders") or {}).get("nodes", []):
            ch["FulfillmentOrder"][fo["id"]] = (order, fo)
            for foli in (fo.get("lineItems") or {}).get("nodes", []):
                ch["FulfillmentOrderLineItem"][foli["id"]] = (order, fo, foli)
        for f in order.get("fulfillments") or []:
            ch["Fulfillment"][f["id"]] = (order, f)
        for r in order.get("refunds") or []:
            ch["Refund"][r["id"]] = (order, r)
        for t in order.get("transactions") or []:
            if t.get("id"):
                ch["OrderTransaction"][t["id"]] = (order, t)

    def reindex_order(self, order: Record) -> None:
        """Register nested objects a mutation added to ``order``."""
        if isinstance(self._children, _DiskChildren):
            self._children.register(order)
        elif self._children is not None:
            self._index_order_children(order, self._children)

    def invalidate(self, entity: str) -> None:
        """Drop the sorted views of an entity after a write changed its sort or filter fields."""
        for key in [k for k in self._views if k[0] == entity]:
            del self._views[key]

    def next_gid(self, type_name: str) -> str:
        """A fresh gid for ``type_name``: one above the largest in the data, counting up."""
        if type_name not in self._next_num:
            self._next_num[type_name] = self._max_existing(type_name) + 1
        n = self._next_num[type_name]
        self._next_num[type_name] = n + 1
        return gid(type_name, n)

    def _max_existing(self, type_name: str) -> int:
        prefix = gid(type_name, "")
        best = 1_000_000
        for obj in self._walk_order_objects():
            ident = obj.get("id")
            if isinstance(ident, str) and ident.startswith(prefix):
                best = max(best, num(ident))
        return best

    def _walk_order_objects(self) -> Iterator[Record]:
        for order in self.orders:
            for f in order.get("fulfillments") or []:
                yield f
                yield from (f.get("fulfillmentLineItems") or {}).get("nodes", [])
            for r in order.get("refunds") or []:
                yield r
                yield from (r.get("refundLineItems") or {}).get("nodes", [])
                yield from (r.get("refundShippingLines") or {}).get("nodes", [])
                yield from (r.get("transactions") or {}).get("nodes", [])
            yield from order.get("transactions") or []

    # ----------------------------------------------------------------- lookups

    def variant_product(self, variant: Record) -> Record | None:
        return self.product_of_variant.get(variant.get("id", ""))

    def variant_updated_at(self, variant: Record) -> str:
        if variant.get("updatedAt"):
            return variant["updatedAt"]
        product = self.variant_product(variant) or {}
        return product.get("updatedAt", "")

    def variant_created_at(self, variant: Record) -> str:
        if variant.get("createdAt"):
            return variant["createdAt"]
        product = self.variant_product(variant) or {}
        return product.get("createdAt", "")

    def item_variant(self, item: Record) -> Record | None:
        return self.variant_of_item.get(item.get("id", ""))

    def item_updated_at(self, item: Record) -> str:
        if item.get("updatedAt"):
            return item["updatedAt"]
        variant = self.item_variant(item)
        return self.variant_updated_at(variant) if variant else ""

    def item_created_at(self, item: Record) -> str:
        if item.get("createdAt"):
            return item["createdAt"]
        variant = self.item_variant(item)
        return self.variant_created_at(variant) if variant else ""

    def item_sku(self, item: Record) -> str | None:
        if item.get("sku") is not None:
            return item["sku"]
        variant = self.item_variant(item)
        return variant.get("sku") if variant else None

    def find(self, ident: str) -> tuple[str | None, Any]:
        """Resolve a gid to (type name, object) for ``node(id:)``; object is None when unknown."""
        type_name = gid_type(ident)
        top = {
            "Order": self.order_by_id,
            "Product": self.product_by_id,
            "ProductVariant": self.variant_by_id,
            "Location": self.location_by_id,
            "InventoryItem": self.item_by_id,
            "InventoryLevel": self.level_by_id,
        }
        if type_name in top:
            return type_name, top[type_name].get(ident)
        if type_name in ("LineItem", "FulfillmentOrder", "Fulfillment", "Refund", "OrderTransaction"):
            hit = self.children[type_name].get(ident)
            return type_name, (hit[1] if hit else None)
        if type_name == "FulfillmentOrderLineItem":
            hit = self.children[type_name].get(ident)
            return type_name, (hit[2] if hit else None)
        return type_name, None

    def order_of(self, type_name: str, ident: str) -> Record | None:
        hit = self.children[type_name].get(ident)
        return hit[0] if hit else None

    # ----------------------------------------------------------------- sorted / filtered views

    def view(
        self, entity: str, sort_key: str | None, query: str | None
    ) -> tuple[list[Record], list[tuple[Any, int]], list[Any]]:
        """Records of ``entity`` ascending by ``sort_key`` then id, filtered by a search string."""
        self.refresh()
        cache_key = (entity, sort_key, query or "")
        hit = self._views.get(cache_key)
        if hit is not None:
            self._views.move_to_end(cache_key)
            return hit
        spec = self._entity(entity)
        base_key = (entity, sort_key, "")
        base = self._views.get(base_key)
        records = spec["records"]()
        disk = is_disk(records)
        slims = records.slim_rows() if disk else None
        if base is None:
            value_of = spec["sort"].get(sort_key or "ID", spec["sort"]["ID"])
            if disk:  # sort the slim rows (every sort and search field is in them); decode per page
                order = sorted(((value_of(r), num(r["id"])), pos) for pos, r in enumerate(slims))
                base = (records.at([pos for _, pos in order]), [k for k, _ in order], [])
            else:
                decorated = sorted(((value_of(r), num(r["id"])), r) for r in records)
                base = ([r for _, r in decorated], [k for k, _ in decorated], [])
            self._remember(base_key, base)
        if not query:
            return base
        try:
            pred, warnings = compile_query(query, spec["fields"], spec.get("text"))
        except SearchError as exc:
            raise GraphQLError(f"Invalid search query: {exc}") from exc
        if pred is None:
            result = (base[0], base[1], warnings)
        elif disk:
            kept, keys = [], []
            for pos, key in zip(base[0].positions, base[1], strict=True):
                if pred(slims[pos]):
                    kept.append(pos)
                    keys.append(key)
            result = (records.at(kept), keys, warnings)
        else:
            rows, keys = [], []
            for rec, key in zip(base[0], base[1], strict=True):
                if pred(rec):
                    rows.append(rec)
                    keys.append(key)
            result = (rows, keys, warnings)
        self._remember(cache_key, result)
        return result

    def filter_levels(self, levels: list[Record], query: str | None) -> tuple[list[Record], list[Any]]:
        if not query:
            return levels, []
        try:
            pred, warnings = compile_query(query, self._entity("inventory_levels")["fields"])
        except SearchError as exc:
            raise GraphQLError(f"Invalid search query: {exc}") from exc
        return ([lv for lv in levels if pred(lv)] if pred else levels), warnings

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        self._views[key] = value
        while len(self._views) > self._VIEW_CACHE_SIZE:
            self._views.popitem(last=False)

    def _entity(self, entity: str) -> dict[str, Any]:
        def rid(r: Record) -> int:
            return num(r["id"])

        if entity == "orders":

            def price(r: Record) -> float:
                return _amount(((r.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount"))

            return {
                "records": lambda: self.orders,
                "sort": {
                    "ID": rid,
                    "RELEVANCE": rid,
                    "UPDATED_AT": lambda r: r.get("updatedAt") or "",
                    "CREATED_AT": lambda r: r.get("createdAt") or "",
                    "PROCESSED_AT": lambda r: r.get("processedAt") or r.get("createdAt") or "",
                    "ORDER_NUMBER": lambda r: r.get("name") or "",
                    "TOTAL_PRICE": price,
                    "FINANCIAL_STATUS": lambda r: r.get("displayFinancialStatus") or "",
                    "FULFILLMENT_STATUS": lambda r: r.get("displayFulfillmentStatus") or "",
                },
                "fields": {
                    "updated_at": Field("time", lambda r: r.get("updatedAt")),
                    "created_at": Field("time", lambda r: r.get("createdAt")),
                    "processed_at": Field("time", lambda r: r.get("processedAt") or r.get("createdAt")),
                    "cancelled_at": Field("time", lambda r: r.get("cancelledAt")),
                    "id": Field("id", lambda r: r["id"]),
                    "name": Field("texts", lambda r: [r.get("name"), (r.get("name") or "").lstrip("#")]),
                    "tag": Field("texts", lambda r: r.get("tags") or []),
                    "source_name": Field("text", lambda r: r.get("sourceName")),
                    "financial_status": Field("text", lambda r: r.get("displayFinancialStatus")),
                    "fulfillment_status": Field("texts", _order_fulfillment_aliases),
                    "status": Field("texts", _order_status),
                    "test": Field("bool", lambda r: r.get("test")),
                    "sku": Field(
                        "texts", lambda r: [li.get("sku") for li in (r.get("lineItems") or {}).get("nodes", [])]
                    ),
                },
                "text": lambda r: " ".join(
                    str(x) for x in (r.get("name"), r.get("email"), r.get("sourceIdentifier")) if x
                ),
            }
        if entity == "products":
            return {
                "records": lambda: self.products,
                "sort": {
                    "ID": rid,
                    "RELEVANCE": rid,
                    "TITLE": lambda r: r.get("title") or "",
                    "UPDATED_AT": lambda r: r.get("updatedAt") or "",
                    "CREATED_AT": lambda r: r.get("createdAt") or "",
                    "PUBLISHED_AT": lambda r: r.get("publishedAt") or r.get("createdAt") or "",
                    "PRODUCT_TYPE": lambda r: r.get("productType") or "",
                    "VENDOR": lambda r: r.get("vendor") or "",
                    "INVENTORY_TOTAL": lambda r: self.product_inventory(r),
                },
                "fields": {
                    "updated_at": Field("time", lambda r: r.get("updatedAt")),
                    "created_at": Field("time", lambda r: r.get("createdAt")),
                    "id": Field("id", lambda r: r["id"]),
                    "title": Field("text", lambda r: r.get("title")),
                    "status": Field("text", lambda r: r.get("status")),
                    "vendor": Field("text", lambda r: r.get("vendor")),
                    "product_type": Field("text", lambda r: r.get("productType")),
                    "tag": Field("texts", lambda r: r.get("tags") or []),
                    "sku": Field("texts", lambda r: [v.get("sku") for v in (r.get("variants") or {}).get("nodes", [])]),
                },
                "text": lambda r: r.get("title") or "",
            }
        if entity == "variants":
            return {
                "records": lambda: self.variants,
                "sort": {
                    "ID": rid,
                    "RELEVANCE": rid,
                    "SKU": lambda r: r.get("sku") or "",
                    "TITLE": lambda r: r.get("title") or "",
                    "NAME": lambda r: r.get("title") or "",
                    "FULL_TITLE": lambda r: self.variant_display_name(r),
                    "POSITION": lambda r: (
                        (num((self.variant_product(r) or {}).get("id")) * 1000) + self.variant_position(r)
                    ),
                    "INVENTORY_QUANTITY": lambda r: self.variant_inventory(r),
                },
                "fields": {
                    "updated_at": Field("time", self.variant_updated_at),
                    "created_at": Field("time", self.variant_created_at),
                    "id": Field("id", lambda r: r["id"]),
                    "sku": Field("text", lambda r: r.get("sku")),
                    "barcode": Field("text", lambda r: r.get("barcode")),
                    "title": Field("text", lambda r: r.get("title")),
                    "product_id": Field("id", lambda r: (self.variant_product(r) or {}).get("id", 0)),
                },
                "text": lambda r: " ".join(str(x) for x in (r.get("sku"), r.get("title")) if x),
            }
        if entity == "inventory_items":
            return {
                "records": lambda: self.items,
                "sort": {"ID": rid},
                "fields": {
                    "id": Field("id", lambda r: r["id"]),
                    "sku": Field("text", self.item_sku),
                    "updated_at": Field("time", self.item_updated_at),
                    "created_at": Field("time", self.item_created_at),
                },
                "text": lambda r: self.item_sku(r) or "",
            }
        if entity == "locations":
            return {
                "records": lambda: self.locations,
                "sort": {"ID": rid, "RELEVANCE": rid, "NAME": lambda r: r.get("name") or ""},
                "fields": {
                    "id": Field("id", lambda r: r["id"]),
                    "name": Field("text", lambda r: r.get("name")),
                    "active": Field("bool", lambda r: r.get("isActive", True)),
                },
                "text": lambda r: r.get("name") or "",
            }
        if entity == "inventory_levels":
            return {
                "records": lambda: self.levels,
                "sort": {"ID": rid},
                "fields": {
                    "updated_at": Field("time", lambda r: r.get("updatedAt")),
                    "created_at": Field("time", lambda r: r.get("createdAt") or r.get("updatedAt")),
                    "inventory_item_id": Field("id", lambda r: r["item"]["id"]),
                    "location_id": Field("id", lambda r: r["location"]["id"]),
                },
            }
        raise KeyError(entity)

    # ----------------------------------------------------------------- derived values

    def variant_position(self, variant: Record) -> int:
        if variant.get("position"):
            return int(variant["position"])
        product = self.variant_product(variant) or {}
        nodes = (product.get("variants") or {}).get("nodes", [])
        for i, v in enumerate(nodes, start=1):
            if v is variant:
                return i
        return 1

    def variant_display_name(self, variant: Record) -> str:
        product = self.variant_product(variant) or {}
        title = variant.get("title") or ""
        return f"{product.get('title', '')} - {title}" if title else product.get("title", "")

    def available(self, level: Record) -> int:
        for q in level.get("quantities") or []:
            if q.get("name") == "available":
                return int(q.get("quantity") or 0)
        return 0

    def variant_inventory(self, variant: Record) -> int:
        item = variant.get("inventoryItem") or {}
        return sum(self.available(lv) for lv in self.levels_by_item.get(item.get("id", ""), []))

    def product_inventory(self, product: Record) -> int:
        return sum(self.variant_inventory(v) for v in (product.get("variants") or {}).get("nodes", []))


class _ChildIndex(Mapping):
    """``children[type_name]`` over a disk store: id -> the same tuples as the in-memory index."""

    def __init__(self, owner: _DiskChildren, type_name: str) -> None:
        self.owner = owner
        self.type_name = type_name

    def get(self, ident: Any, default: Any = None) -> Any:  # noqa: D102 - Mapping.get
        hit = self.owner.lookup(self.type_name, ident)
        return default if hit is None else hit

    def __getitem__(self, ident: Any) -> Any:
        hit = self.owner.lookup(self.type_name, ident)
        if hit is None:
            raise KeyError(ident)
        return hit

    def __iter__(self) -> Iterator[Any]:
        return iter(self.owner.positions(self.type_name))

    def __len__(self) -> int:
        return len(self.owner.positions(self.type_name))


class _DiskChildren(Mapping):
    """Nested order objects for a disk store: child id -> order position, the order decoded on lookup.

    Built on first use with one pass over the orders (the in-memory index holds the objects;
    at a million orders only positions fit).
    """

    TYPES = ("LineItem", "FulfillmentOrder", "FulfillmentOrderLineItem", "Fulfillment", "Refund", "OrderTransaction")

    def __init__(self, orders: DiskRecords) -> None:
        self.orders = orders
        self._pos: dict[str, dict[str, int]] | None = None

    def positions(self, type_name: str) -> dict[str, int]:
        if self._pos is None:
            pos: dict[str, dict[str, int]] = {t: {} for t in self.TYPES}
            for i, order in enumerate(self.orders):
                self._register(order, i, pos)
            self._pos = pos
        return self._pos[type_name]

    def _register(self, order: Record, i: int, pos: dict[str, dict[str, int]]) -> None:
        ch: dict[str, dict[str, Any]] = {t: {} for t in self.TYPES}
        ShopStore._index_order_children(None, order, ch)  # type: ignore[arg-type]
        for type_name, found in ch.items():
            for ident in found:
                pos[type_name][ident] = i

    def register(self, order: Record) -> None:
        if self._pos is not None:
            i = self.orders.position(order["id"])
            if i is not None:
                self._register(order, i, self._pos)

    def lookup(self, type_name: str, ident: Any) -> Any:
        i = self.positions(type_name).get(ident)
        if i is None:
            return None
        ch: dict[str, dict[str, Any]] = {t: {} for t in self.TYPES}
        ShopStore._index_order_children(None, self.orders.get(i, pin=True), ch)  # type: ignore[arg-type]
        return ch[type_name].get(ident)

    def __getitem__(self, type_name: str) -> _ChildIndex:
        if type_name not in self.TYPES:
            raise KeyError(type_name)
        return _ChildIndex(self, type_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.TYPES)

    def __len__(self) -> int:
        return len(self.TYPES)
