"""In-memory merchant state shared by both emulators, and the scenario-directory format.

The state holds every record in the platform's own wire shape (Shopify GraphQL nodes, TikTok
202309 API objects), so the emulators serve records as they are and a scenario directory is
just those records written one per line.  Writes made through the APIs mutate these dicts and
bump their update time from the sandbox clock, so a re-extract sees repairs.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

SHOPIFY_ENTITIES = ("orders", "products", "locations", "inventory_levels")
TIKTOK_ENTITIES = (
    "orders",
    "products",
    "warehouses",
    "returns",
    "cancellations",
    "statements",
    "statement_transactions",
    "payments",
)


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded; the message names file, line and field."""


def parse_ts(value: str) -> datetime:
    """Parse an ISO-8601 timestamp into an aware UTC datetime (naive input is taken as UTC)."""
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def iso(ts: datetime) -> str:
    """Shopify's DateTime wire form: second precision, UTC, trailing Z."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(ts: datetime) -> int:
    return int(ts.timestamp())


@dataclass
class ConnectionState:
    """One Shopify store linked to one TikTok shop, with the manifest entry that describes them."""

    id: str
    manifest: dict[str, Any]
    shopify: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tiktok_shop: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def shop_domain(self) -> str:
        return self.manifest["shopify"]["shop_domain"]

    @property
    def tiktok(self) -> dict[str, Any]:
        return self.manifest["tiktok_shop"]


class Clock:
    """The merchant clock: frozen at ``as_of`` until advanced, so runs are reproducible.

    Every write stamps ``now()``; successive writes get strictly increasing times (one second
    apart at least) so incremental extractors can always order them.
    """

    def __init__(self, as_of: datetime) -> None:
        self._now = as_of
        self._last_stamp = as_of - timedelta(seconds=1)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def set(self, ts: datetime) -> None:
        with self._lock:
            self._now = ts

    def stamp(self) -> datetime:
        """A write time: the clock, nudged forward past the previous stamp if needed."""
        with self._lock:
            ts = max(self._now, self._last_stamp + timedelta(seconds=1))
            self._last_stamp = ts
            return ts


@dataclass
class MerchantState:
    as_of: datetime
    connections: list[ConnectionState]
    clock: Clock = field(init=False)
    lock: threading.RLock = field(default_factory=threading.RLock, init=False)

    #: numbers handed out by admin mutations (``sandbox.mutate``) for the ids they create
    mutation_seq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.clock = Clock(self.as_of)

    def next_mutation_number(self) -> int:
        self.mutation_seq += 1
        return self.mutation_seq

    def connection(self, connection_id: str) -> ConnectionState:
        for conn in self.connections:
            if conn.id == connection_id:
                return conn
        raise KeyError(connection_id)

    def by_shop_domain(self, shop_domain: str) -> ConnectionState | None:
        for conn in self.connections:
            if conn.shop_domain == shop_domain:
                return conn
        return None

    def manifest(self) -> dict[str, Any]:
        return {"as_of": iso(self.as_of), "connections": [c.manifest for c in self.connections]}

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for conn in self.connections:
            row = {f"shopify.{k}": len(v) for k, v in conn.shopify.items()}
            row.update({f"tiktok_shop.{k}": len(v) for k, v in conn.tiktok_shop.items()})
            out[conn.id] = row
        return out


# --------------------------------------------------------------------------- scenario I/O


def _dump(record: dict[str, Any]) -> str:
    # sort_keys keeps exports byte-identical regardless of dict construction order
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dump_bytes(record: dict[str, Any]) -> bytes:
    """``_dump`` as UTF-8, through orjson (same bytes, several times faster) unless it cannot encode."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an int beyond 64 bits, a non-str key...: the standard library's exact form
        return _dump(record).encode()


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("wb") as fh:
        for rec in records:
            fh.write(dump_bytes(rec))
            fh.write(b"\n")
            n += 1
    return n


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScenarioError(f"{path}:{lineno}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
            if not isinstance(rec, dict):
                raise ScenarioError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
            yield lineno, rec


def export_state(state: MerchantState, out_dir: Path, truth: Iterable[dict[str, Any]] | None = None) -> None:
    """Write the scenario directory layout documented in docs/sandbox.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").write_text(json.dumps(state.manifest(), indent=2, sort_keys=True) + "\n")
    for conn in state.connections:
        for entity in SHOPIFY_ENTITIES:
            write_jsonl(out_dir / conn.id / "shopify" / f"{entity}.jsonl", conn.shopify.get(entity, []))
        for entity in TIKTOK_ENTITIES:
            write_jsonl(out_dir / conn.id / "tiktok_shop" / f"{entity}.jsonl", conn.tiktok_shop.get(entity, []))
    if truth is not None:
        write_jsonl(out_dir / "truth.jsonl", truth)


_REQUIRED_ID = {
    ("shopify", "orders"): "id",
    ("shopify", "products"): "id",
    ("shopify", "locations"): "id",
    ("shopify", "inventory_levels"): "id",
    ("tiktok_shop", "orders"): "id",
    ("tiktok_shop", "products"): "id",
    ("tiktok_shop", "warehouses"): "id",
    ("tiktok_shop", "returns"): "return_id",
    ("tiktok_shop", "cancellations"): "cancel_id",
    ("tiktok_shop", "statements"): "id",
    ("tiktok_shop", "statement_transactions"): "id",
    ("tiktok_shop", "payments"): "id",
}

_MANIFEST_FIELDS = {
    "shopify": ("shop_domain", "access_token", "currency"),
    "tiktok_shop": ("shop_id", "shop_cipher", "app_key", "app_secret", "access_token", "region", "currency"),
}


def _apply_defaults(platform: str, entity: str, rec: dict[str, Any], as_of: datetime) -> None:
    """Fill fields the emulators need but a hand-written file may lack (documented defaults)."""
    if platform == "shopify":
        if entity == "orders":
            rec.setdefault("createdAt", iso(as_of))
            rec.setdefault("updatedAt", rec["createdAt"])
            rec.setdefault("lineItems", {"nodes": []})
            rec.setdefault("refunds", [])
            rec.setdefault("fulfillments", [])
            rec.setdefault("fulfillmentOrders", {"nodes": []})
            rec.setdefault("transactions", [])
            rec.setdefault("tags", [])
            rec.setdefault("customAttributes", [])
            rec.setdefault("cancelledAt", None)
        elif entity == "products":
            rec.setdefault("createdAt", iso(as_of))
            rec.setdefault("updatedAt", rec["createdAt"])
            rec.setdefault("status", "ACTIVE")
            rec.setdefault("variants", {"nodes": []})
        elif entity == "inventory_levels":
            rec.setdefault("updatedAt", iso(as_of))
    else:
        if entity in ("orders", "products") or entity in ("returns", "cancellations"):
            rec.setdefault("create_time", unix(as_of))
            rec.setdefault("update_time", rec["create_time"])


#: ``store="auto"`` keeps an entity on disk when its file is at least this big
DISK_STORE_MIN_BYTES = 32 * 1024 * 1024


def _use_disk(store: str, path: Path) -> bool:
    if store == "disk":
        return True
    if store == "auto":
        return path.stat().st_size >= DISK_STORE_MIN_BYTES
    return False


def _preparer(path: Path, platform: str, entity: str, key: str, as_of: datetime):
    def prepare(lineno: int, rec: dict[str, Any]) -> None:
        if key not in rec or rec[key] in (None, ""):
            raise ScenarioError(f"{path}:{lineno}: field '{key}' is required")
        _apply_defaults(platform, entity, rec, as_of)

    return prepare


def load_state(scenario_dir: Path, store: str | None = None) -> MerchantState:
    """Load a scenario directory; a malformed file raises ScenarioError naming file, line, field.

    ``store`` decides where the big entities (orders on both platforms; TikTok statement
    transactions, returns and cancellations) live: ``memory`` (dicts), ``disk``
    (``sandbox.recordstore.DiskRecords``: the file stays the record body, memory holds indexes)
    or ``auto`` (disk for files of 32 MB or more).
    The default comes from ``SANDBOX_STORE`` (else ``memory``), so a whole test suite can be run
    against either store.
    """
    store = store or os.environ.get("SANDBOX_STORE") or "memory"
    if store not in ("memory", "disk", "auto"):
        raise ValueError(f"store must be memory, disk or auto, got {store!r}")
    from sandbox.recordstore import SLIM, DiskRecords

    scenario_dir = Path(scenario_dir)
    manifest_path = scenario_dir / "manifest.json"
    if not manifest_path.exists():
        raise ScenarioError(f"{manifest_path}: missing (a scenario directory needs manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{manifest_path}:{exc.lineno}: invalid JSON ({exc.msg})") from exc
    if "as_of" not in manifest:
        raise ScenarioError(f"{manifest_path}: field 'as_of' is required")
    try:
        as_of = parse_ts(manifest["as_of"])
    except ValueError as exc:
        raise ScenarioError(f"{manifest_path}: field 'as_of' is not ISO-8601: {manifest['as_of']!r}") from exc
    connections = []
    for i, entry in enumerate(manifest.get("connections") or []):
        where = f"{manifest_path}: connections[{i}]"
        if "id" not in entry:
            raise ScenarioError(f"{where}: field 'id' is required")
        for platform, fields in _MANIFEST_FIELDS.items():
            if platform not in entry:
                raise ScenarioError(f"{where}: field '{platform}' is required")
            for f in fields:
                if f not in entry[platform]:
                    raise ScenarioError(f"{where}.{platform}: field '{f}' is required")
        entry.setdefault("warehouse_location_map", {})
        entry["shopify"].setdefault("locations", [])
        entry["tiktok_shop"].setdefault("warehouses", [])
        conn = ConnectionState(id=entry["id"], manifest=entry)
        for platform, entities, target in (
            ("shopify", SHOPIFY_ENTITIES, conn.shopify),
            ("tiktok_shop", TIKTOK_ENTITIES, conn.tiktok_shop),
        ):
            for entity in entities:
                path = scenario_dir / conn.id / platform / f"{entity}.jsonl"
                rows: list[dict[str, Any]] = []
                key = _REQUIRED_ID[(platform, entity)]
                if path.exists() and (platform, entity) in SLIM and _use_disk(store, path):
                    target[entity] = DiskRecords(
                        path,
                        slim=SLIM[(platform, entity)],
                        prepare=_preparer(path, platform, entity, key, as_of),
                        id_field=key,
                    )
                    continue
                if path.exists():
                    for lineno, rec in read_jsonl(path):
                        if key not in rec or rec[key] in (None, ""):
                            raise ScenarioError(f"{path}:{lineno}: field '{key}' is required")
                        _apply_defaults(platform, entity, rec, as_of)
                        rows.append(rec)
                target[entity] = rows
        connections.append(conn)
    if not connections:
        raise ScenarioError(f"{manifest_path}: field 'connections' must list at least one connection")
    return MerchantState(as_of=as_of, connections=connections)
