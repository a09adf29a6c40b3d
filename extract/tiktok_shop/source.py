"""The TikTok Shop dlt source: one connection's shop into the shared ``raw_tiktok_shop`` dataset.

Every row carries ``connection_id`` and every primary key starts with it, so connections share
tables without colliding; every table is merged on its key, so re-reading a record (lookback
windows, retried runs) updates it in place. Resources yield whole pages, typed by ``shapes``:
a record that cannot be typed goes to the ``quarantine`` table with the field and the reason,
its children stay out, and the run goes on.

Incremental resources keep a dlt cursor on the record's own time and ask the API for
``<cursor>_ge = incremental.start_value``, which dlt has already moved back by the lag
(lookback). First loads and ``since`` backfills search in 30-day windows, starting at the oldest
record (one probe call) rather than at the year-2000 default. Searches sort ascending by the
cursor so a record updated mid-run moves *later*, where it is read again, never past the walk.

| table | key (after connection_id) | cursor, lookback |
|---|---|---|
| shops, warehouses | id | none: a few rows, re-read every run |
| orders (+ order_line_items) | id | update_time, ``lookback`` |
| products (+ product_skus) | id | update_time, ``lookback`` |
| inventory | sku_id, warehouse_id | none: full snapshot every run (see ``inventory``) |
| returns (+ return_line_items) | return_id | update_time, ``lookback`` |
| cancellations (+ cancellation_line_items) | cancel_id | update_time, ``lookback`` |
| statements (+ statement_transactions) | id | statement_time, ``finance_lookback`` |
| payments | id | create_time, ``finance_lookback`` |
| withdrawals | id | create_time, settings.WITHDRAWALS_LOOKBACK |
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from extract.common.arrow import arrow_batches, coalesce
from extract.common.coerce import InvalidField
from extract.common.errors import ApiError
from extract.common.quarantine import emit, emit_quarantine, quarantine_row
from extract.tiktok_shop import settings
from extract.tiktok_shop import shapes as sh
from extract.tiktok_shop.client import TikTokClient
from shoptok.connections import Connection

log = logging.getLogger("extract.tiktok_shop")

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
PRODUCTS_SEARCH = "/product/202309/products/search"
INVENTORY_SEARCH = "/product/202309/inventory/search"

# --------------------------------------------------------------------------- column hints

MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}


def _columns(
    *,
    keys: tuple[str, ...] = ("connection_id", "id"),
    text: tuple[str, ...] = (),
    money: tuple[str, ...] = (),
    times: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    bools: tuple[str, ...] = (),
    latest: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Declared columns: the table's shape is stable even when a nullable column is empty in a load.

    ``latest`` is the version time: when one load holds a record twice (it was updated while the
    run walked its windows), the merge keeps the row with the greatest value, not the first seen.
    """
    cols: dict[str, dict[str, Any]] = {k: {"data_type": "text", "nullable": False} for k in keys}
    cols.update({n: {"data_type": "text"} for n in text})
    cols.update({n: dict(MONEY) for n in money})
    cols.update({n: {"data_type": "timestamp", "timezone": True} for n in times})
    cols.update({n: {"data_type": "bigint"} for n in ints})
    cols.update({n: {"data_type": "bool"} for n in bools})
    if latest is not None:
        cols[latest] = {"data_type": "timestamp", "timezone": True, "dedup_sort": "desc"}
    return cols


REFUND = ("refund_currency",)
COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "shops": _columns(text=("name", "region", "seller_type", "code")),
    "warehouses": _columns(text=("name", "effect_status", "type", "sub_type"), bools=("is_default",)),
    "orders": _columns(
        text=("status", "payment_currency", "warehouse_id", "tracking_number", "shipping_provider_id"),
        money=tuple(f"payment_{k}" for k in sh.PAYMENT_MONEY),
        times=sh.ORDER_TIMES + sh.ORDER_OPTIONAL_TIMES,
        latest="update_time",
    ),
    "order_line_items": _columns(
        text=(
            "order_id",
            "sku_id",
            "product_id",
            "seller_sku",
            "currency",
            "display_status",
            "package_status",
            "package_id",
            "tracking_number",
            "shipping_provider_id",
            "shipping_provider_name",
        ),
        money=sh.LINE_MONEY,
        times=("rts_time",),
        latest="order_update_time",
    ),
    "products": _columns(text=("status", "title"), times=("create_time",), latest="update_time"),
    "product_skus": _columns(
        text=("product_id", "seller_sku", "external_sku_id", "price_currency"),
        money=("sale_price", "tax_exclusive_price"),
        latest="product_update_time",
    ),
    "inventory": _columns(
        keys=("connection_id", "sku_id", "warehouse_id"),
        text=("product_id", "seller_sku"),
        ints=(
            "available_quantity",
            "committed_quantity",
            "sku_total_available_quantity",
            "sku_total_committed_quantity",
            "sku_in_shop_quantity",
            "sku_creator_reserved_quantity",
            "sku_campaign_reserved_quantity",
        ),
    ),
    "returns": _columns(
        keys=("connection_id", "return_id"),
        text=("order_id", "return_type", "return_status", "role", *REFUND),
        money=sh.REFUND_MONEY,
        times=("create_time",),
        latest="update_time",
    ),
    "return_line_items": _columns(
        keys=("connection_id", "return_line_item_id"),
        text=("return_id", "order_id", "order_line_item_id", "sku_id", "seller_sku", *REFUND),
        money=sh.REFUND_MONEY,
        latest="return_update_time",
    ),
    "cancellations": _columns(
        keys=("connection_id", "cancel_id"),
        text=("order_id", "cancel_type", "cancel_status", "role", *REFUND),
        money=sh.REFUND_MONEY,
        times=("create_time",),
        latest="update_time",
    ),
    "cancellation_line_items": _columns(
        keys=("connection_id", "cancel_line_item_id"),
        text=("cancel_id", "order_id", "order_line_item_id", "sku_id", "seller_sku", *REFUND),
        money=sh.REFUND_MONEY,
        latest="cancel_update_time",
    ),
    "statements": _columns(
        text=("currency", "payment_status", "payment_id"),
        money=sh.STATEMENT_MONEY,
        times=("statement_time", "payment_time"),
    ),
    "statement_transactions": _columns(
        text=("statement_id", "type", "order_id", "adjustment_id", "adjustment_order_id", "currency"),
        money=sh.TRANSACTION_MONEY,
        times=("order_create_time",),
        bools=("is_documented_type",),
    ),
    "payments": _columns(
        text=("status", "exchange_rate", "bank_account", *(f"{n}_currency" for n in sh.PAYMENT_AMOUNTS)),
        money=sh.PAYMENT_AMOUNTS,
        times=("create_time", "paid_time"),
    ),
    "withdrawals": _columns(text=("type", "status", "currency"), money=("amount",), times=("create_time",)),
}
PRIMARY_KEYS = {table: [n for n, c in cols.items() if c.get("nullable") is False] for table, cols in COLUMNS.items()}


# --------------------------------------------------------------------------- run statistics


@dataclass
class TableCounts:
    rows: int = 0
    #: rows created after the previous run's high-water mark; ``rows - new`` were updates or re-reads
    new: int = 0
    quarantined: int = 0


@dataclass
class ExtractStats:
    """What a run extracted per table, for the CLI summary (thread-safe: detail fetches run in a pool)."""

    tables: dict[str, TableCounts] = field(default_factory=dict)
    #: statement transaction types outside the documented list (loaded, flagged, counted)
    undocumented_transaction_types: Counter[str] = field(default_factory=Counter)
    #: records listed by a search whose detail call then failed (e.g. deleted in between)
    skipped: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, table: str, rows: int = 0, new: int = 0, quarantined: int = 0) -> None:
        with self._lock:
            counts = self.tables.setdefault(table, TableCounts())
            counts.rows += rows
            counts.new += new
            counts.quarantined += quarantined

    def skip(self, table: str) -> None:
        with self._lock:
            self.skipped[table] += 1

    def note_type(self, tx_type: str) -> None:
        with self._lock:
            self.undocumented_transaction_types[tx_type] += 1

    @property
    def quarantined(self) -> int:
        return sum(c.quarantined for c in self.tables.values())


# --------------------------------------------------------------------------- searches


@dataclass(frozen=True)
class Search:
    """How one list endpoint is walked: where filters go, which field is the cursor, whether to window."""

    table: str
    method: str
    path: str
    items_key: str
    id_key: str
    cursor: str
    #: ``sort_field`` to send (ascending); None where the docs define none (then no windows either)
    sort_field: str | None
    filters_in_body: bool
    params: tuple[tuple[str, str], ...] = ()
    body: tuple[tuple[str, str], ...] = ()

    def request(self, ge: int, lt: int | None, page_size: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
        params: dict[str, Any] = {"page_size": page_size, **dict(self.params)}
        if self.sort_field:
            params.update(sort_field=self.sort_field, sort_order="ASC")
        filters: dict[str, Any] = {f"{self.cursor}_ge": ge}
        if lt is not None:
            filters[f"{self.cursor}_lt"] = lt
        if self.filters_in_body:
            return params, {**dict(self.body), **filters}
        return {**params, **filters}, None


ORDERS = Search("orders", "POST", "/order/202309/orders/search", "orders", "id", "update_time", "update_time", True)
RETURNS = Search(
    "returns",
    "POST",
    "/return_refund/202309/returns/search",
    "return_orders",
    "return_id",
    "update_time",
    "update_time",
    True,
)
CANCELLATIONS = Search(
    "cancellations",
    "POST",
    "/return_refund/202309/cancellations/search",
    "cancellations",
    "cancel_id",
    "update_time",
    "update_time",
    True,
)
STATEMENTS = Search(
    "statements", "GET", "/finance/202309/statements", "statements", "id", "statement_time", "statement_time", False
)
PAYMENTS = Search("payments", "GET", "/finance/202309/payments", "payments", "id", "create_time", "create_time", False)
#: products: ``sort_field=update_time`` is undocumented here, so one unsorted walk (catalogs are small)
PRODUCTS = Search(
    "products", "POST", PRODUCTS_SEARCH, "products", "id", "update_time", None, True, body=(("status", "ALL"),)
)
#: withdrawals: no documented sort field; one withdrawal per payout, so one walk is cheap
WITHDRAWALS = Search(
    "withdrawals",
    "GET",
    "/finance/202309/withdrawals",
    "withdrawals",
    "id",
    "create_time",
    None,
    False,
    params=(("types", ",".join(settings.WITHDRAWAL_TYPES)),),
)

#: one record -> its rows for the table (inventory: one per SKU x warehouse) and its child rows
Shape = Callable[[Any], tuple[list[sh.Row], sh.Children]]


class _Run:
    """One source run: the client, the connection id, counters, and the page-to-rows plumbing."""

    def __init__(
        self,
        api: TikTokClient,
        connection_id: str,
        stats: ExtractStats,
        on_page: Callable[[str, int], None] | None,
        owns_client: bool,
    ) -> None:
        self.api = api
        self.cid = connection_id
        self.stats = stats
        self.on_page = on_page
        self._owns_client = owns_client
        self._open = 0
        self._lock = threading.Lock()

    def expect(self, resources: int) -> None:
        self._open = resources

    def finished(self) -> None:
        """Close a client the source created once every resource has run (a deselected one never does: GC)."""
        with self._lock:
            self._open -= 1
            done = self._open == 0
        if done and self._owns_client:
            self.api.close()

    # -- walking ------------------------------------------------------------------------

    def walk(self, spec: Search, start: datetime) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``spec`` with cursor >= ``start``: windowed when the range is long and sortable."""
        ge = int(start.timestamp())
        now = int(self.api.clock())
        span = int(settings.SEARCH_WINDOW.total_seconds())
        lo, hi = settings.PAGE_SIZE_BOUNDS[spec.table]
        if spec.sort_field and now - ge > span:
            first = self._oldest(spec, ge, lo)
            if first is None:
                return
            ge = max(ge, first)
            while ge + span <= now:
                yield from self._pages(spec, ge, ge + span, hi)
                ge += span
        # the last window is open-ended: a record stamped ahead of our clock is still found
        yield from self._pages(spec, ge, None, hi)

    def _pages(self, spec: Search, ge: int, lt: int | None, size: int) -> Iterator[list[dict[str, Any]]]:
        params, body = spec.request(ge, lt, size)
        yield from self.api.paginate(spec.method, spec.path, params, body, spec.items_key, spec.id_key)

    def _oldest(self, spec: Search, ge: int, size: int) -> int | None:
        """The cursor value of the oldest record at or after ``ge`` (None: there are none)."""
        params, body = spec.request(ge, None, size)
        items = self.api.call(spec.method, spec.path, params=params, body=body).data.get(spec.items_key) or []
        if not items:
            return None
        # the smallest on the page, not the first: the order of records within a page is not promised
        try:
            return min(int(item.get(spec.cursor)) for item in items)
        except (AttributeError, TypeError, ValueError):
            return ge  # an unreadable time: walk from the requested start and let quarantine report it

    # -- typing -------------------------------------------------------------------------

    def type_page(
        self,
        table: str,
        records: list[Any],
        shape: Shape,
        id_field: str = "id",
        *,
        is_new: Callable[[sh.Row], bool] = lambda row: True,
    ) -> tuple[list[sh.Row], list[Any]]:
        """Type a page: its rows, and the items to yield (rows, child rows per table, quarantine).

        Every batch carries its own table's hints (``emit``), the resource's own table included:
        a table variant starts from the resource's hints, so hints declared on the resource would
        leak the parent's columns into every child table and into the quarantine.
        """
        rows: list[sh.Row] = []
        children: dict[str, list[sh.Row]] = defaultdict(list)
        bad: list[dict[str, Any]] = []
        new = 0
        for rec in records:
            try:
                typed, kids = shape(rec)
            except InvalidField as exc:
                key = rec.get(id_field) if isinstance(rec, dict) else None
                bad.append(quarantine_row(self.cid, table, rec, exc, record_key=None if key is None else str(key)))
                continue
            rows.extend(typed)
            for child, child_rows in kids.items():
                children[child].extend(child_rows)
            new += sum(1 for row in typed if is_new(row))
        items: list[Any] = []
        if rows:
            items.append(emit(table, rows, PRIMARY_KEYS[table], COLUMNS[table]))
        self.stats.add(table, rows=len(rows), new=new, quarantined=len(bad))
        for child, child_rows in children.items():
            self.stats.add(child, rows=len(child_rows))
            if child_rows:
                items.append(emit(child, child_rows, PRIMARY_KEYS[child], COLUMNS[child]))
        if bad:
            log.warning(
                "tiktok_shop %s: %d %s record(s) quarantined, e.g. %s", self.cid, len(bad), table, bad[0]["reason"]
            )
            items.append(emit_quarantine(bad))
        if self.on_page is not None:
            self.on_page(table, len(rows))
        return rows, items

    def single(self, shape: Callable[[Any, str], sh.Row]) -> Shape:
        return lambda rec: ([shape(rec, self.cid)], {})

    def single_many(self, shape: Callable[[Any, str], list[sh.Row]]) -> Shape:
        return lambda rec: (shape(rec, self.cid), {})

    def nested(self, shape: Callable[[Any, str], tuple[sh.Row, sh.Children]]) -> Shape:
        def typed(rec: Any) -> tuple[list[sh.Row], sh.Children]:
            row, children = shape(rec, self.cid)
            return [row], children

        return typed

    def product_detail(self, item: Any) -> Any:
        """The detail object of a searched product; the search item itself if it has no usable id
        (so typing quarantines it); None if the detail call is refused (e.g. deleted meanwhile)."""
        try:
            pid = sh.path_id(item.get("id") if isinstance(item, dict) else None, "id")
        except InvalidField:
            return item
        try:
            return self.api.call("GET", f"/product/202309/products/{pid}").data
        except ApiError as exc:
            log.warning("tiktok_shop %s: product %s skipped: %s", self.cid, pid, exc)
            self.stats.skip("products")
            return None

    def transactions(self, statement: sh.Row) -> list[Any]:
        """Every transaction of one statement (all pages)."""
        path = f"/finance/202309/statements/{statement['id']}/statement_transactions"
        params = {"sort_field": "order_create_time", "sort_order": "ASC", "page_size": 100}
        return [t for page in self.api.paginate("GET", path, params, None, "statement_transactions") for t in page]

    def orphaned_transactions(self, page: list[Any], good: list[sh.Row]) -> Iterator[Any]:
        """Quarantine the transactions of the page's quarantined statements, one row each.

        They cannot be typed without their statement (its currency, its id), and reading them
        anyway keeps the count honest: every transaction served is loaded or quarantined. A
        statement whose id cannot go into a URL has no transactions we can read; its own
        quarantine row stands for them (docs/reliability.md, rule R6).
        """
        typed = {row["id"] for row in good}
        for rec in page:
            try:
                sid = sh.path_id(rec.get("id") if isinstance(rec, dict) else None, "id")
            except InvalidField:
                continue
            if sid in typed:
                continue
            error = InvalidField("statement_id", f"its statement {sid} is quarantined", sid)
            bad = [
                quarantine_row(
                    self.cid, "statement_transactions", txn, error, txn.get("id") if isinstance(txn, dict) else None
                )
                for txn in self.transactions({"id": sid})
            ]
            self.stats.add("statement_transactions", quarantined=len(bad))
            if bad:
                yield emit_quarantine(bad)

    def transaction_shape(self, statement: sh.Row) -> Shape:
        def typed(rec: Any) -> tuple[list[sh.Row], sh.Children]:
            row = sh.shape_transaction(rec, self.cid, statement["id"], statement["currency"])
            if not row["is_documented_type"]:
                self.stats.note_type(row["type"])
            return [row], {}

        return typed


def _created_after(
    start: datetime, lag: timedelta, initial: datetime, field: str = "create_time"
) -> Callable[[sh.Row], bool]:
    """Rows created after the previous run's cursor (``start`` + lag) are new; on a first run, all are."""
    if start <= initial:
        return lambda row: True
    mark = start + lag
    return lambda row: isinstance(row.get(field), datetime) and row[field] > mark


def _constant(value: bool) -> Callable[[sh.Row], bool]:
    return lambda _row: value


@dlt.source(name="tiktok_shop", max_table_nesting=0)
def tiktok_shop_source(
    connection: Connection,
    *,
    lookback: timedelta = settings.DEFAULT_LOOKBACK,
    since: datetime | None = None,
    client: TikTokClient | None = None,
    on_page: Callable[[str, int], None] | None = None,
    stats: ExtractStats | None = None,
    finance_lookback: timedelta = settings.FINANCE_LOOKBACK,
) -> Any:
    """Extract one connection's TikTok shop.

    ``since`` is where cursors start on a first run (default: everything); once a cursor is
    saved it wins (reset state with ``run_source(full_refresh=True)`` to backfill again).
    ``client`` lets the caller own the HTTP client (tests, shared call stats); otherwise one is
    made from ``connection.tiktok``. ``on_page(table, rows)`` is called after every page, from
    dlt's extract worker threads (resources run in parallel); ``stats`` collects per-table counts
    (rows, new, quarantined) for the CLI summary.
    """
    initial = since.astimezone(UTC) if since is not None else EPOCH
    run = _Run(
        client or TikTokClient(connection.tiktok),
        connection.id,
        stats if stats is not None else ExtractStats(),
        on_page,
        owns_client=client is None,
    )
    api = run.api
    cid = connection.id

    def hints(table: str) -> dict[str, Any]:
        # keys and columns travel with each batch (see _Run.type_page); resources run in parallel
        # so one API path's pacing does not hold up the others
        return {"name": table, "write_disposition": "merge", "parallelized": True}

    def cursor_of(table: str, field: str, lag: timedelta) -> Any:
        return dlt.sources.incremental(
            field,
            initial_value=initial,
            lag=lag.total_seconds() or None,
            on_cursor_value_missing="include",  # child and quarantine rows have no cursor; they pass
            primary_key=PRIMARY_KEYS[table],
        )

    def searched(spec: Search, shape: Shape, cursor: Any, lag: timedelta, id_field: str = "id") -> Iterator[Any]:
        is_new = _created_after(cursor.start_value, lag, initial)
        pages = run.walk(spec, cursor.start_value)
        yield from coalesce(
            (item for page in pages for item in run.type_page(spec.table, page, shape, id_field, is_new=is_new)[1]),
            settings.ROWS_PER_BATCH,
        )

    @dlt.resource(**hints("shops"))
    def shops() -> Iterator[Any]:
        """The connection's shop (name, region, seller type); its cipher is credentials and is not stored."""
        try:
            mine = [x for x in api.shops() if str(x.get("id")) == str(connection.tiktok.shop_id)]
            yield from run.type_page("shops", mine, run.single(sh.shape_shop))[1]
        finally:
            run.finished()

    @dlt.resource(**hints("warehouses"))
    def warehouses() -> Iterator[Any]:
        try:
            found = api.call("GET", "/logistics/202309/warehouses").data.get("warehouses") or []
            yield from run.type_page("warehouses", found, run.single(sh.shape_warehouse))[1]
        finally:
            run.finished()

    @dlt.resource(**hints("orders"))
    def orders(cursor: Any = cursor_of("orders", "update_time", lookback)) -> Iterator[Any]:
        """Orders by update time, with their line items (one row per unit)."""
        try:
            yield from searched(ORDERS, run.nested(sh.shape_order), cursor, lookback)
        finally:
            run.finished()

    @dlt.resource(**hints("products"))
    def products(cursor: Any = cursor_of("products", "update_time", lookback)) -> Iterator[Any]:
        """Changed products, each re-read in detail: only the detail object carries ``external_sku_id``."""
        try:
            is_new = _created_after(cursor.start_value, lookback, initial)
            with ThreadPoolExecutor(settings.DETAIL_WORKERS, thread_name_prefix="tiktok-detail") as pool:
                for page in run.walk(PRODUCTS, cursor.start_value):
                    details = [d for d in pool.map(run.product_detail, page) if d is not None]
                    yield from run.type_page("products", details, run.nested(sh.shape_product), is_new=is_new)[1]
        finally:
            run.finished()

    @dlt.resource(**hints("inventory"))
    def inventory() -> Iterator[Any]:
        """A full stock snapshot every run: one row per SKU x warehouse (available and committed units).

        There is no cursor because stock moves do not bump a product's ``update_time`` on TikTok,
        so an incremental read would miss them. Rows merge on (connection_id, sku_id,
        warehouse_id); a pair that disappears keeps its last row, so current stock is the rows
        carrying the connection's latest ``_dlt_load_id``.
        """
        try:
            ids: list[str] = []
            for page in api.paginate("POST", PRODUCTS_SEARCH, {"page_size": 100}, {"status": "ALL"}, "products"):
                ids.extend(str(p["id"]) for p in page if isinstance(p, dict) and p.get("id"))
            shape = run.single_many(sh.shape_inventory)
            for i in range(0, len(ids), settings.INVENTORY_BATCH):
                batch = ids[i : i + settings.INVENTORY_BATCH]
                found = api.call("POST", INVENTORY_SEARCH, body={"product_ids": batch}).data.get("inventory") or []
                yield from run.type_page("inventory", found, shape, "product_id")[1]
        finally:
            run.finished()

    @dlt.resource(**hints("returns"))
    def returns(cursor: Any = cursor_of("returns", "update_time", lookback)) -> Iterator[Any]:
        """Returns and refunds with their line items, by update time."""
        try:
            yield from searched(RETURNS, run.nested(sh.shape_return), cursor, lookback, "return_id")
        finally:
            run.finished()

    @dlt.resource(**hints("cancellations"))
    def cancellations(cursor: Any = cursor_of("cancellations", "update_time", lookback)) -> Iterator[Any]:
        """Cancellations with their line items, by update time."""
        try:
            yield from searched(CANCELLATIONS, run.nested(sh.shape_cancellation), cursor, lookback, "cancel_id")
        finally:
            run.finished()

    @dlt.resource(**hints("statements"))
    def statements(cursor: Any = cursor_of("statements", "statement_time", finance_lookback)) -> Iterator[Any]:
        """Daily statements and their transactions, re-read for ``finance_lookback`` as payment_status moves."""
        try:
            is_new = _created_after(cursor.start_value, finance_lookback, initial, "statement_time")
            shape = run.single(sh.shape_statement)

            def batches(pool: ThreadPoolExecutor) -> Iterator[Any]:
                for page in run.walk(STATEMENTS, cursor.start_value):
                    good, items = run.type_page("statements", page, shape, is_new=is_new)
                    yield from items
                    for statement, txns in zip(good, pool.map(run.transactions, good), strict=True):
                        tx_shape = run.transaction_shape(statement)
                        # a statement's transactions are as new as the statement
                        as_new = _constant(is_new(statement))
                        yield from run.type_page("statement_transactions", txns, tx_shape, is_new=as_new)[1]
                    yield from run.orphaned_transactions(page, good)

            with ThreadPoolExecutor(settings.DETAIL_WORKERS, thread_name_prefix="tiktok-detail") as pool:
                yield from coalesce(batches(pool), settings.ROWS_PER_BATCH)
            if run.stats.undocumented_transaction_types:
                log.warning(
                    "tiktok_shop %s: statement transaction types outside the documented list (loaded, "
                    "is_documented_type = false): %s",
                    cid,
                    dict(run.stats.undocumented_transaction_types),
                )
        finally:
            run.finished()

    @dlt.resource(**hints("payments"))
    def payments(cursor: Any = cursor_of("payments", "create_time", finance_lookback)) -> Iterator[Any]:
        """Payouts to the bank, by creation time, re-read for ``finance_lookback`` as their status moves."""
        try:
            yield from searched(PAYMENTS, run.single(sh.shape_payment), cursor, finance_lookback)
        finally:
            run.finished()

    @dlt.resource(**hints("withdrawals"))
    def withdrawals(
        cursor: Any = cursor_of("withdrawals", "create_time", settings.WITHDRAWALS_LOOKBACK),
    ) -> Iterator[Any]:
        try:
            yield from searched(WITHDRAWALS, run.single(sh.shape_withdrawal), cursor, settings.WITHDRAWALS_LOOKBACK)
        finally:
            run.finished()

    resources = [
        shops,
        warehouses,
        orders,
        products,
        inventory,
        returns,
        cancellations,
        statements,
        payments,
        withdrawals,
    ]
    run.expect(len(resources))
    return arrow_batches(resources)
