"""The dlt source for one Shopify store: orders (and their children), products, locations, inventory.

Loading model (dataset ``raw_shopify``, one pipeline per connection, see ``extract.pipeline``):

* every row carries ``connection_id`` and every primary key starts with it; all tables merge;
* resources yield pages (lists of rows, ``RECORDS_PER_BATCH`` records' worth), one batch per
  table, marked with that table's own key and column types (``extract.common.quarantine.emit``);
  child tables are replaced per parent (merge key = connection_id + order/product id), and a
  record read twice in one run keeps its newest version (``dedup_sort`` on the parent's
  ``updated_at``);
* ``orders``, ``products`` and ``inventory_levels`` are incremental on ``updated_at`` with a
  ``lookback`` lag: each run re-reads ``updated_at >= last cursor - lookback`` (Shopify search
  ``updated_at:>='...'``, sortKey UPDATED_AT), so late stamps are not missed and re-reads merge
  harmlessly. Only parent rows carry ``updated_at``; child rows have no cursor and pass
  (``on_cursor_value_missing="include"``);
* ``locations`` has no cursor (Shopify exposes no updatedAt on Location): it is re-read whole
  every run, one cheap page;
* bulk operations serve the first load (``use_bulk=None``: bulk when the cursor is still at its
  initial value, i.e. a first load or a backfill from ``since``) and paged GraphQL the
  increments. Both produce the same nested records, so the same rows (tested). A bulk operation
  that fails falls back to paged reads for that entity.

A record that cannot be typed (no id, float or over-precise money, bad timestamp, unknown enum,
negative or non-integer quantity, a field the API itself could not serve) becomes one
``quarantine`` row naming the field; none of its rows load and the run goes on. Per-run counts
(records, new, updated, quarantined, rows per table, mode) are kept in each resource's state
under ``last_run`` and passed to ``on_page`` as pages go by.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dlt

from extract.common.arrow import arrow_batches
from extract.common.coerce import InvalidField
from extract.common.quarantine import QUARANTINE_TABLE, emit, emit_quarantine, quarantine_row
from extract.shopify import queries as q
from extract.shopify import rows as r
from extract.shopify import settings as cfg
from extract.shopify.bulk import BulkOperationFailed, BulkRunner
from extract.shopify.client import Page, ShopifyClient
from shoptok.connections import Connection

log = logging.getLogger("extract.shopify")

OnPage = Callable[[str, dict[str, int]], None]
Builder = Callable[[dict[str, Any]], r.Rows]


@dataclass
class RunReport:
    """What one resource did in one run; stored in its dlt state as ``last_run``."""

    mode: str
    window_start: str | None
    records: int = 0
    new: int = 0
    updated: int = 0
    quarantined: int = 0
    rows: dict[str, int] = field(default_factory=dict)


class _Emitter:
    """Turns pages of records into per-table batches and quarantine rows, counting as it goes.

    Rows are gathered across API pages and handed to dlt every ``RECORDS_PER_BATCH`` records
    (and at the end), so dlt sees a few large pages rather than hundreds of three-order ones.
    """

    def __init__(
        self,
        connection_id: str,
        entity: str,
        tables: tuple[r.Table, ...],
        build: Builder,
        report: RunReport,
        on_page: OnPage | None,
    ):
        self.connection_id = connection_id
        self.entity = entity
        self.tables = tables
        self.emitted: set[str] = set()
        self.build = build
        self.report = report
        self.on_page = on_page
        self.window_start = datetime.fromisoformat(report.window_start) if report.window_start else None
        self.batches: dict[str, list[r.Row]] = {}
        self.quarantine: list[dict[str, Any]] = []
        self.pending = 0

    def page(self, page: Page) -> Iterator[Any]:
        counts: dict[str, int] = {}
        for record in page.records:
            try:
                built = self.build(record)
            except InvalidField as exc:
                self.quarantine.append(quarantine_row(self.connection_id, self.entity, record, exc, _key(record)))
                counts["quarantine"] = counts.get("quarantine", 0) + 1
                continue
            self.report.records += 1
            main = built[self.tables[0].name]
            created = main[0].get("created_at") if main else None
            if self.window_start is None or (created is not None and created >= self.window_start):
                self.report.new += 1
            else:
                self.report.updated += 1
            for table, rows in built.items():
                if rows:
                    self.batches.setdefault(table, []).extend(rows)
                    counts[table] = counts.get(table, 0) + len(rows)
        for bad in page.poisoned:
            error = InvalidField(bad.field, bad.reason)
            self.quarantine.append(quarantine_row(self.connection_id, self.entity, bad.payload, error, bad.id))
            counts["quarantine"] = counts.get("quarantine", 0) + 1
        self.report.quarantined += counts.get("quarantine", 0)
        for table, n in counts.items():
            self.report.rows[table] = self.report.rows.get(table, 0) + n
        if self.on_page is not None and counts:
            self.on_page(self.entity, counts)
        self.pending += len(page.records) + len(page.poisoned)
        if self.pending >= cfg.RECORDS_PER_BATCH:
            yield from self.flush()

    def flush(self) -> Iterator[Any]:
        for table, rows in self.batches.items():
            spec = r.TABLES[table]
            yield emit(table, rows, list(spec.primary_key), spec.hints)
            self.emitted.add(table)
        if self.quarantine:
            yield emit_quarantine(self.quarantine)
            self.emitted.add(QUARANTINE_TABLE)
        self.batches, self.quarantine, self.pending = {}, [], 0

    def run(self, pages: Iterable[Page]) -> Iterator[Any]:
        """Every batch of ``pages``, then the run's report into the resource's dlt state.

        Tables that got no row are still created, typed (a shop without shipping refunds must
        not break the staging models that read ``order_refund_shipping_lines``).
        """
        for page in pages:
            yield from self.page(page)
        yield from self.flush()
        for spec in self.tables:
            if spec.name not in self.emitted:
                yield emit(spec.name, dlt.mark.materialize_table_schema(), list(spec.primary_key), spec.hints)
        if QUARANTINE_TABLE not in self.emitted:
            yield emit_quarantine(dlt.mark.materialize_table_schema())
        dlt.current.resource_state()["last_run"] = asdict(self.report)


def _key(record: Any) -> str | None:
    ident = record.get("id") if isinstance(record, dict) else None
    return ident if isinstance(ident, str) else None


def _chunks(records: Iterable[dict[str, Any]], size: int) -> Iterator[Page]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield Page(batch)
            batch = []
    if batch:
        yield Page(batch)


@dlt.source(name="shopify", max_table_nesting=0)
def shopify_source(
    connection: Connection,
    *,
    lookback: timedelta = cfg.DEFAULT_LOOKBACK,
    since: datetime | None = None,
    use_bulk: bool | None = None,
    client: ShopifyClient | None = None,
    on_page: OnPage | None = None,
) -> Any:
    """Orders, products, locations and inventory levels of ``connection``'s Shopify store.

    ``since``: where a first load starts (default 2000-01-01); ``use_bulk``: force bulk (True) or
    paged reads (False), default bulk for a first load only; ``client``: a preconfigured client
    (tests, benchmarks; its stats stay readable); ``on_page(entity, rows_per_table)``: progress.
    """
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be timezone-aware (UTC)")
    shop = client or ShopifyClient(connection.shopify)
    cid = connection.id
    currency = connection.shopify.currency
    initial = since or cfg.INITIAL_CURSOR
    lag = lookback.total_seconds()

    def cursor() -> Any:
        return dlt.sources.incremental(
            "updated_at", initial_value=initial, lag=lag, on_cursor_value_missing="include", primary_key=()
        )

    def start(inc: Any) -> tuple[RunReport, str, bool]:
        first_load = inc.start_value == initial
        bulk = use_bulk if use_bulk is not None else first_load
        report = RunReport("bulk" if bulk else "paged", None if first_load else inc.start_value.isoformat())
        return report, q.search_filter(inc.start_value), bulk

    def read(spec: q.Spec, search: str, bulk: bool, report: RunReport) -> Iterator[Page]:
        def paged() -> Iterator[Page]:
            return shop.pages(q.root_listing(spec), {"query": search})

        pages = _bulk_pages(shop, spec, search, report, probe=lambda: _any(paged())) if bulk else None
        return pages if pages is not None else paged()

    @dlt.resource(name="orders", write_disposition="merge")
    def orders(updated_at: Any = cursor()) -> Iterator[Any]:
        report, search, bulk = start(updated_at)
        out = _Emitter(cid, "orders", r.ORDER_TABLES, lambda rec: r.order_rows(cid, rec), report, on_page)
        yield from out.run(read(q.ORDERS, search, bulk, report))

    @dlt.resource(name="products", write_disposition="merge")
    def products(updated_at: Any = cursor()) -> Iterator[Any]:
        report, search, bulk = start(updated_at)
        out = _Emitter(
            cid, "products", (r.PRODUCTS, r.VARIANTS), lambda rec: r.product_rows(cid, rec, currency), report, on_page
        )
        yield from out.run(read(q.PRODUCTS, search, bulk, report))

    @dlt.resource(name="locations", write_disposition="merge")
    def locations() -> Iterator[Any]:
        report = RunReport("paged", None)
        out = _Emitter(cid, "locations", (r.LOCATIONS,), lambda rec: r.location_rows(cid, rec), report, on_page)
        yield from out.run(shop.pages(q.root_listing(q.LOCATIONS, search=False)))

    @dlt.resource(name="inventory_levels", write_disposition="merge")
    def inventory_levels(updated_at: Any = cursor()) -> Iterator[Any]:
        report, search, bulk = start(updated_at)
        out = _Emitter(
            cid,
            "inventory_levels",
            (r.INVENTORY_LEVELS,),
            lambda rec: r.inventory_level_rows(cid, rec),
            report,
            on_page,
        )
        yield from out.run(_levels(shop, search, bulk, report))

    return arrow_batches((orders, products, locations, inventory_levels))


def _any(pages: Iterator[Page]) -> bool:
    """Whether the first page holds anything (a record or a record set aside)."""
    first = next(pages, None)
    return first is not None and bool(first.records or first.poisoned)


def _prepend(head: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield head
    yield from rest


def _bulk_pages(
    shop: ShopifyClient,
    spec: q.Spec,
    search: str | None,
    report: RunReport,
    unnest: Callable[[Iterator[dict[str, Any]]], Iterator[dict[str, Any]]] | None = None,
    probe: Callable[[], bool] | None = None,
) -> Iterator[Page] | None:
    """Pages of a bulk read, or None when the caller must read page by page instead.

    That is when the operation failed, or when it completed empty while ``probe`` (the first
    page of a paged read) finds records: a bulk file has no per-record errors, and a record the
    API cannot serve can empty the whole result (docs/reliability.md, rule R10). Trusting it
    would drop every record of the entity without a trace.
    """
    records = BulkRunner(shop).records(spec, search)
    try:
        head = next(records, None)  # runs the operations: a failure surfaces here, before any row
    except BulkOperationFailed as exc:
        log.warning("shopify %s: %s; reading %s page by page instead", shop.conn.shop_domain, exc, spec.field)
        report.mode = "bulk->paged"
        return None
    if head is None and probe is not None and probe():
        log.warning(
            "shopify %s: bulk %s came back empty but a paged read finds records; reading page by page",
            shop.conn.shop_domain,
            spec.field,
        )
        report.mode = "bulk->paged"
        return None
    stream = _prepend(head, records) if head is not None else iter(())
    return _chunks(unnest(stream) if unnest else stream, cfg.RECORDS_PER_BATCH)


def _levels(shop: ShopifyClient, search: str, bulk: bool, report: RunReport) -> Iterator[Page]:
    """Inventory levels: one bulk query over locations, else paged per location (active or not)."""
    if bulk:
        pages = _bulk_pages(
            shop,
            q.location_levels_bulk(search),
            None,
            report,
            lambda located: (level for loc in located for level in loc["inventoryLevels"]["nodes"]),
        )
        if pages is not None:
            yield from pages
            return
    for page in shop.pages(q.root_listing(q.LOCATIONS, search=False)):
        for location in page.records:
            yield from shop.pages(q.location_levels_listing(), {"id": location["id"], "query": search})
