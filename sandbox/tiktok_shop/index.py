"""Per-connection lookup tables and cached query views, built lazily and dropped on writes."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.recordstore import is_disk
from sandbox.state import TIKTOK_ENTITIES, ConnectionState
from sandbox.tiktok_shop.paging import View

Record = dict[str, Any]

#: order statuses whose (non-cancelled) lines still hold stock as "committed"
COMMITTED_STATUSES = frozenset({"ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION"})
SHIPPED_DISPLAY = frozenset({"IN_TRANSIT", "DELIVERED", "COMPLETED"})
SHIPPED_PACKAGE = frozenset({"FULFILLING", "COMPLETED"})

_MAX_VIEWS = 64


def line_cancelled(line: Record) -> bool:
    return line.get("display_status") == "CANCELLED" or line.get("package_status") == "CANCELLED"


def line_shipped(line: Record) -> bool:
    return line.get("display_status") in SHIPPED_DISPLAY or line.get("package_status") in SHIPPED_PACKAGE


def committed_lines(order: Record) -> list[Record]:
    """The order's lines that hold stock: unshipped, uncancelled lines of an unshipped order."""
    status = order.get("status")
    lines = order.get("line_items") or []
    if status in COMMITTED_STATUSES:
        return [li for li in lines if not line_cancelled(li)]
    if status == "PARTIALLY_SHIPPING":
        return [li for li in lines if not line_cancelled(li) and not line_shipped(li)]
    return []


class ShopIndex:
    def __init__(self, conn: ConnectionState) -> None:
        self.conn = conn
        self._fingerprint: tuple[Any, ...] = ()
        #: id maps and other lookups that only change when records are added or replaced
        self._lookup: dict[str, Any] = {}
        #: values derived from record contents (committed stock), dropped on every write
        self._cache: dict[str, Any] = {}
        self._views: OrderedDict[str, View] = OrderedDict()
        self._seq = 0

    # -- invalidation -------------------------------------------------------------------

    def _current_fingerprint(self) -> tuple[Any, ...]:
        # holds the list objects themselves (compared by identity), so a replaced list can't be
        # mistaken for its predecessor through a recycled id()
        data = self.conn.tiktok_shop
        return tuple((data.get(e), len(data.get(e) or ())) for e in TIKTOK_ENTITIES)

    def refresh(self) -> None:
        """Drop everything if record lists were replaced or resized behind our back (cheap check).

        In-place edits of records by something other than this emulator are not detected; call
        ``TikTokApp.invalidate()`` after those.
        """
        fp = self._current_fingerprint()
        old = self._fingerprint
        if len(fp) != len(old) or any(a is not b or n != m for (a, n), (b, m) in zip(fp, old, strict=True)):
            self.invalidate()

    def invalidate(self) -> None:
        """Drop everything (records were added, removed or replaced)."""
        self._lookup.clear()
        self.contents_changed()
        self._fingerprint = self._current_fingerprint()

    def contents_changed(self) -> None:
        """Drop what depends on record contents (after a write that edited records in place)."""
        self._cache.clear()
        self._views.clear()

    def new_id(self, prefix: str, taken: set[str]) -> str:
        """A fresh 19-digit id with ``prefix``; sandbox-issued ids count up per connection."""
        while True:
            self._seq += 1
            candidate = f"{prefix}{self._seq:0{19 - len(prefix)}d}"
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    # -- records ------------------------------------------------------------------------

    def records(self, entity: str) -> list[Record]:
        return self.conn.tiktok_shop.setdefault(entity, [])

    def _memo(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def lookup(self, name: str, build: Callable[[], Any]) -> Any:
        """A memo that survives in-place writes (dropped only when records are added/replaced)."""
        return self._lookup_memo(name, build)

    def _lookup_memo(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._lookup:
            self._lookup[name] = build()
        return self._lookup[name]

    def by_id(self, entity: str, id_field: str = "id") -> Mapping[str, Record]:
        records = self.records(entity)
        if is_disk(records):
            return records.id_map()  # type: ignore[attr-defined]
        return self._lookup_memo(f"by_id:{entity}", lambda: {str(r[id_field]): r for r in records})

    def sku_index(self) -> dict[str, tuple[Record, Record]]:
        """sku_id -> (product, sku)."""

        def build() -> dict[str, tuple[Record, Record]]:
            out = {}
            for product in self.records("products"):
                for sku in product.get("skus") or []:
                    out[str(sku["id"])] = (product, sku)
            return out

        return self._lookup_memo("skus", build)

    def committed(self) -> dict[str, dict[str, int]]:
        """sku_id -> warehouse_id -> committed units."""

        def build() -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            orders = self.records("orders")
            if is_disk(orders):  # the slim rows carry each order's committed SKUs
                for slim in orders.slim_rows():  # type: ignore[attr-defined]
                    warehouse = str(slim.get("warehouse_id") or "")
                    for sku in slim["_committed"]:
                        out[sku][warehouse] += 1
                return {sku: dict(per_wh) for sku, per_wh in out.items()}
            for order in orders:
                warehouse = str(order.get("warehouse_id") or "")
                for line in committed_lines(order):
                    out[str(line.get("sku_id"))][warehouse] += 1
            return {sku: dict(per_wh) for sku, per_wh in out.items()}

        return self._memo("committed", build)

    def package_ids(self) -> set[str]:
        return self._lookup_memo(
            "packages",
            lambda: {str(p.get("id")) for o in self.records("orders") for p in o.get("packages") or []},
        )

    def transactions_by_statement(self) -> dict[str, list[Record]]:
        def build() -> dict[str, list[Record]]:
            txns = self.records("statement_transactions")
            if is_disk(txns):
                positions: dict[str, list[int]] = defaultdict(list)
                for pos, slim in enumerate(txns.slim_rows()):  # type: ignore[attr-defined]
                    positions[str(slim.get("statement_id"))].append(pos)
                return {sid: txns.at(ps) for sid, ps in positions.items()}  # type: ignore[attr-defined,misc]
            out: dict[str, list[Record]] = defaultdict(list)
            for txn in txns:
                out[str(txn.get("statement_id"))].append(txn)
            return dict(out)

        return self._lookup_memo("txns", build)

    def warehouses(self) -> list[Record]:
        """warehouses.jsonl, or records synthesised from the manifest when the file is absent."""

        def build() -> list[Record]:
            rows = self.records("warehouses")
            if rows:
                return rows
            out = []
            for i, wh in enumerate(self.conn.tiktok.get("warehouses") or []):
                out.append(
                    {
                        "id": str(wh["id"]),
                        "name": wh.get("name", ""),
                        "effect_status": "ENABLED",
                        "type": "SALES_WAREHOUSE",
                        "sub_type": "DOMESTIC_WAREHOUSE",
                        "is_default": i == 0,
                        "address": {"region_code": self.conn.tiktok.get("region", "")},
                    }
                )
            return out

        return self._lookup_memo("warehouses", build)

    def sales_warehouse_ids(self) -> set[str]:
        def build() -> set[str]:
            ids = {str(w["id"]) for w in self.warehouses() if w.get("type", "SALES_WAREHOUSE") == "SALES_WAREHOUSE"}
            ids.update(str(w["id"]) for w in self.conn.tiktok.get("warehouses") or [])
            return ids

        return self._lookup_memo("sales_wh", build)

    def fbt_warehouse_ids(self) -> set[str]:
        return self._lookup_memo(
            "fbt_wh", lambda: {str(w["id"]) for w in self.conn.tiktok.get("warehouses") or [] if w.get("fbt")}
        )

    # -- views --------------------------------------------------------------------------

    def view(self, query_digest: str, build: Callable[[], View]) -> View:
        view = self._views.get(query_digest)
        if view is None:
            view = build()
            self._views[query_digest] = view
            if len(self._views) > _MAX_VIEWS:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(query_digest)
        return view
