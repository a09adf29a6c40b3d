"""A compact record store for big entities: records stay JSON lines on disk, memory holds indexes.

A 1M-order merchant does not fit in memory as Python dicts (tens of KB per order with its
nested children), so the sandbox can keep the big entities (orders on both platforms, TikTok
statement transactions) as ``DiskRecords``: the scenario file itself is the record body, read
with ``pread`` when a page needs a record; memory holds each record's offset, a small *slim* row
(only the fields the emulators filter and sort on) and an id -> position map.

``DiskRecords`` is a ``Sequence`` of full records, so code written for lists keeps working;
the emulators' hot paths (views, id lookups, committed stock) use the slim rows instead of
decoding everything.  Decoded records go through a bounded LRU cache: a record handed out is the
same dict until it falls out of the cache, so in-place edits by the emulators (their write
model) persist; when a changed record is evicted its new version is appended to an overlay file
and its offset repointed.  Slim rows are refreshed from cached records before any view is built,
so a write is visible to the next query exactly as with in-memory lists.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import orjson

Record = dict[str, Any]

#: decoded records kept per entity for page reads (a TikTok order decodes to ~10 KB of dicts)
DEFAULT_CACHE = 10_000
#: records fetched by id (the emulators' write path) are kept longer: edits happen after the lookup
DEFAULT_PINNED = 100_000


class DiskRecords(Sequence):
    """Records of one entity: JSON lines in ``path`` (plus an overlay of rewritten records)."""

    def __init__(
        self,
        path: Path,
        *,
        slim: Callable[[Record], Any],
        prepare: Callable[[int, Record], None] | None = None,
        id_field: str = "id",
        cache_size: int | None = None,
        overlay_dir: Path | None = None,
    ) -> None:
        """Index ``path``; ``prepare(lineno, record)`` validates and fills defaults on every decode."""
        self.path = Path(path)
        self._slim_of = slim
        self._prepare = prepare
        self.id_field = id_field
        override = int(os.environ.get("SANDBOX_STORE_CACHE") or 0)
        self._cache_size = cache_size or override or DEFAULT_CACHE
        self._pinned_size = cache_size or override or DEFAULT_PINNED
        self._offsets = array("q")
        self._lengths = array("l")
        self._lines = array("l")  # line number in the scenario file (0 for overlay versions)
        self._slims: list[Any] = []
        self._ids: dict[str, int] = {}
        self._cache: OrderedDict[int, tuple[Record, int]] = OrderedDict()
        self._pinned: OrderedDict[int, tuple[Record, int]] = OrderedDict()
        self._lock = threading.RLock()
        self._base_fd = os.open(self.path, os.O_RDONLY)
        self._overlay_dir = overlay_dir
        self._overlay_fd: int | None = None
        self._overlay_size = 0
        self._scan()

    # ----------------------------------------------------------------- loading

    def _scan(self) -> None:
        offset = 0
        with self.path.open("rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                size = len(line)
                if line.strip():
                    rec = self._decode_line(line, lineno)
                    self._add(rec, offset, len(line.rstrip(b"\r\n")), lineno)
                offset += size

    def _decode_line(self, line: bytes, lineno: int) -> Record:
        try:
            rec = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            from sandbox.state import ScenarioError

            raise ScenarioError(f"{self.path}:{lineno}: invalid JSON ({exc})") from exc
        if not isinstance(rec, dict):
            from sandbox.state import ScenarioError

            raise ScenarioError(f"{self.path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        if self._prepare is not None:
            self._prepare(lineno, rec)
        return rec

    def _add(self, rec: Record, offset: int, length: int, lineno: int) -> None:
        pos = len(self._offsets)
        self._offsets.append(offset)
        self._lengths.append(length)
        self._lines.append(lineno)
        self._slims.append(self._slim_of(rec))
        self._ids[str(rec[self.id_field])] = pos

    # ----------------------------------------------------------------- raw access

    def _raw(self, pos: int) -> bytes:
        off, length = self._offsets[pos], self._lengths[pos]
        if off < 0:
            return os.pread(self._overlay_fd, length, -off - 1)  # type: ignore[arg-type]
        return os.pread(self._base_fd, length, off)

    def _decode(self, pos: int) -> Record:
        rec = orjson.loads(self._raw(pos))
        if self._prepare is not None:
            self._prepare(self._lines[pos], rec)
        return rec

    @staticmethod
    def _fingerprint(rec: Record) -> int:
        return hash(orjson.dumps(rec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS))

    def _write_overlay(self, pos: int, rec: Record) -> None:
        if self._overlay_fd is None:
            directory = self._overlay_dir or Path(tempfile.gettempdir())
            fd, name = tempfile.mkstemp(prefix=f"sandbox-{self.path.stem}-", suffix=".jsonl", dir=directory)
            os.unlink(name)  # lives as long as the descriptor: nothing to clean up
            self._overlay_fd = fd
        body = orjson.dumps(rec, option=orjson.OPT_NON_STR_KEYS)
        os.pwrite(self._overlay_fd, body, self._overlay_size)
        self._offsets[pos] = -self._overlay_size - 1
        self._lengths[pos] = len(body)
        self._overlay_size += len(body)

    def _evict(self) -> None:
        for cache, size in ((self._cache, self._cache_size), (self._pinned, self._pinned_size)):
            while len(cache) > size:
                pos, (rec, fp) = cache.popitem(last=False)
                if self._fingerprint(rec) != fp:
                    self._write_overlay(pos, rec)
                    self._slims[pos] = self._slim_of(rec)

    # ----------------------------------------------------------------- Sequence

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self.get(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.get(index)

    def get(self, pos: int, pin: bool = False) -> Record:
        """The record at ``pos``; the same dict on every call while it stays cached.

        ``pin`` (lookups by id, the write path) keeps it in the larger cache, so an edit made
        after the lookup is not lost to page reads churning the small one.
        """
        with self._lock:
            hit = self._pinned.get(pos)
            if hit is not None:
                self._pinned.move_to_end(pos)
                return hit[0]
            hit = self._cache.get(pos)
            if hit is not None:
                if pin:
                    del self._cache[pos]
                    self._pinned[pos] = hit
                    self._evict()
                else:
                    self._cache.move_to_end(pos)
                return hit[0]
            rec = self._decode(pos)
            (self._pinned if pin else self._cache)[pos] = (rec, self._fingerprint(rec))
            self._evict()
            return rec

    def __iter__(self) -> Iterator[Record]:
        """Every record in order: cached ones as they are, others decoded without caching (read-only)."""
        for pos in range(len(self)):
            with self._lock:
                hit = self._pinned.get(pos) or self._cache.get(pos)
            yield hit[0] if hit is not None else self._decode(pos)

    def append(self, rec: Record) -> None:
        with self._lock:
            pos = len(self._offsets)
            self._offsets.append(0)
            self._lengths.append(0)
            self._lines.append(0)
            self._slims.append(None)
            self._write_overlay(pos, rec)
            self._slims[pos] = self._slim_of(rec)
            self._ids[str(rec[self.id_field])] = pos
            self._pinned[pos] = (rec, self._fingerprint(rec))
            self._evict()

    # ----------------------------------------------------------------- indexes

    def slim_rows(self) -> list[Any]:
        """The slim row of every record, by position, refreshed from the records cached (maybe edited)."""
        with self._lock:
            for cache in (self._cache, self._pinned):
                for pos, (rec, _) in cache.items():
                    self._slims[pos] = self._slim_of(rec)
            return self._slims

    def position(self, ident: str) -> int | None:
        return self._ids.get(str(ident))

    def id_map(self) -> IdMap:
        return IdMap(self)

    def at(self, positions: Sequence[int]) -> LazyRecords:
        return LazyRecords(self, positions)

    def close(self) -> None:
        os.close(self._base_fd)
        if self._overlay_fd is not None:
            os.close(self._overlay_fd)


class LazyRecords(Sequence):
    """A view's records: positions into a ``DiskRecords``, decoded when indexed."""

    __slots__ = ("store", "positions")

    def __init__(self, store: DiskRecords, positions: Sequence[int]) -> None:
        self.store = store
        self.positions = positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self.store.get(p) for p in self.positions[index]]
        return self.store.get(self.positions[index])

    def __iter__(self) -> Iterator[Record]:
        for p in self.positions:
            yield self.store.get(p)


class IdMap(Mapping):
    """``{id: record}`` over a ``DiskRecords`` without materialising it."""

    __slots__ = ("store",)

    def __init__(self, store: DiskRecords) -> None:
        self.store = store

    def __getitem__(self, key: str) -> Record:
        pos = self.store.position(key)
        if pos is None:
            raise KeyError(key)
        return self.store.get(pos, pin=True)

    def __contains__(self, key: object) -> bool:
        return self.store.position(str(key)) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.store._ids)

    def __len__(self) -> int:
        return len(self.store._ids)


def is_disk(records: Any) -> bool:
    return isinstance(records, DiskRecords)


# --------------------------------------------------------------------------- slim rows per entity


def _intern(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) else value


class Slim:
    """A slim row: reads like the record (``get``, ``[]``) for its few fields, at a fraction of a dict.

    A million orders' slim rows as dicts would take GBs; slotted objects with interned repeated
    values (statuses, warehouses, SKUs) keep them to a few hundred bytes each.
    """

    __slots__ = ()
    _missing = object()
    #: the record keys this row answers for
    _keys: frozenset[str] = frozenset()

    def __init_subclass__(cls) -> None:
        cls._keys = frozenset(cls.__slots__) | cls._keys

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, self._missing) if key in self._keys else self._missing
        return default if value is self._missing else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, self._missing)
        if value is self._missing:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._keys


class TikTokOrderSlim(Slim):
    __slots__ = (
        "id",
        "status",
        "shipping_type",
        "user_id",
        "warehouse_id",
        "is_buyer_request_cancel",
        "create_time",
        "update_time",
        "_committed",
    )

    def __init__(self, order: Record) -> None:
        from sandbox.tiktok_shop.index import committed_lines

        self.id = order.get("id")
        self.status = _intern(order.get("status"))
        self.shipping_type = _intern(order.get("shipping_type"))
        self.user_id = order.get("user_id")
        self.warehouse_id = _intern(order.get("warehouse_id"))
        self.is_buyer_request_cancel = order.get("is_buyer_request_cancel")
        self.create_time = order.get("create_time")
        self.update_time = order.get("update_time")
        self._committed = tuple(_intern(str(li.get("sku_id"))) for li in committed_lines(order))


class TransactionSlim(Slim):
    __slots__ = ("id", "statement_id", "order_create_time")

    def __init__(self, txn: Record) -> None:
        self.id = txn.get("id")
        self.statement_id = _intern(txn.get("statement_id"))
        self.order_create_time = txn.get("order_create_time")


class ReturnSlim(Slim):
    """What ``returns/search`` filters and sorts on."""

    __slots__ = (
        "return_id",
        "order_id",
        "buyer_user_id",
        "return_type",
        "return_status",
        "arbitration_status",
        "create_time",
        "update_time",
    )

    def __init__(self, rec: Record) -> None:
        for name in self.__slots__:
            value = rec.get(name)
            setattr(self, name, _intern(value) if name in ("return_type", "return_status") else value)


class CancellationSlim(Slim):
    """What ``cancellations/search`` filters and sorts on."""

    __slots__ = ("cancel_id", "order_id", "cancel_status", "cancel_type", "create_time", "update_time")

    def __init__(self, rec: Record) -> None:
        for name in self.__slots__:
            value = rec.get(name)
            setattr(self, name, _intern(value) if name in ("cancel_status", "cancel_type") else value)


class ShopifyOrderSlim(Slim):
    """Every field the Shopify order search and sort keys read; nested ones rebuilt on access."""

    __slots__ = (
        "id",
        "updatedAt",
        "createdAt",
        "processedAt",
        "cancelledAt",
        "closedAt",
        "name",
        "email",
        "sourceIdentifier",
        "tags",
        "sourceName",
        "displayFinancialStatus",
        "displayFulfillmentStatus",
        "test",
        "_amount",
        "_skus",
        "_tiktok_id",
    )

    _keys = frozenset({"totalPriceSet", "lineItems"})

    def __init__(self, order: Record) -> None:
        self.id = order.get("id")
        self.updatedAt = order.get("updatedAt")
        self.createdAt = order.get("createdAt")
        processed = order.get("processedAt")
        self.processedAt = self.createdAt if processed == self.createdAt else processed
        self.cancelledAt = order.get("cancelledAt")
        self.closedAt = order.get("closedAt")
        self.name = order.get("name")
        self.email = order.get("email")
        self.sourceIdentifier = order.get("sourceIdentifier")
        tags = order.get("tags")
        self.tags = [_intern(t) for t in tags] if isinstance(tags, list) else tags
        self.sourceName = _intern(order.get("sourceName"))
        self.displayFinancialStatus = _intern(order.get("displayFinancialStatus"))
        self.displayFulfillmentStatus = _intern(order.get("displayFulfillmentStatus"))
        self.test = order.get("test")
        self._amount = ((order.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount")
        self._skus = tuple(_intern(li.get("sku")) for li in (order.get("lineItems") or {}).get("nodes", []))
        tiktok_id = linked_tiktok_id(order)
        self._tiktok_id = self.sourceIdentifier if tiktok_id == self.sourceIdentifier else tiktok_id

    def get(self, key: str, default: Any = None) -> Any:
        if key == "totalPriceSet":
            return {"shopMoney": {"amount": self._amount}}
        if key == "lineItems":
            return {"nodes": [{"sku": sku} for sku in self._skus]}
        return super().get(key, default)


def tiktok_order_slim(order: Record) -> Slim:
    """The fields ``orders/search`` filters and sorts on, plus the SKUs whose stock the order commits."""
    return TikTokOrderSlim(order)


def tiktok_transaction_slim(txn: Record) -> Slim:
    return TransactionSlim(txn)


def linked_tiktok_id(order: Record) -> str | None:
    """The TikTok order a Shopify order mirrors: sourceIdentifier, else the attribute, else the tag."""
    if order.get("sourceIdentifier"):
        return str(order["sourceIdentifier"])
    for attr in order.get("customAttributes") or []:
        if attr.get("key") == "tiktok_order_id" and attr.get("value"):
            return str(attr["value"])
    for tag in order.get("tags") or []:
        if isinstance(tag, str) and tag.startswith("tiktok_order:"):
            return tag.removeprefix("tiktok_order:")
    return None


def shopify_order_slim(order: Record) -> Slim:
    """Every field the Shopify order search and sort keys read, in the record's own nesting."""
    return ShopifyOrderSlim(order)


#: (platform, entity) -> slim row builder, for the entities the disk store can hold
SLIM = {
    ("tiktok_shop", "orders"): tiktok_order_slim,
    ("tiktok_shop", "statement_transactions"): tiktok_transaction_slim,
    ("tiktok_shop", "returns"): ReturnSlim,
    ("tiktok_shop", "cancellations"): CancellationSlim,
    ("shopify", "orders"): shopify_order_slim,
}
