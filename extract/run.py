"""One extraction run: the merchant config, then each connection's Shopify and TikTok sources.

Connections run one after another and every load goes through the same DuckDB file: DuckDB takes
one writer at a time, so this module never loads two pipelines at once. What it returns is the
per-table summary the CLI prints (rows new / updated / quarantined) and the clients' call stats.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from extract.common.http import CallStats
from extract.config_source import config_source
from extract.pipeline import (
    DATASETS,
    LoadSummary,
    _reset_source_state,
    loader_file_format,
    make_pipeline,
    run_source,
)
from shoptok.connections import Connection
from shoptok.settings import load_warehouse_engine
from shoptok.warehouse import connect_read_only

PLATFORMS = ("shopify", "tiktok_shop")
#: progress(platform, connection_id, table, rows_in_this_page)
Progress = Callable[[str, str, str, int], None]


@dataclass
class TableSummary:
    platform: str
    connection_id: str
    table: str
    rows_before: int
    rows_after: int
    rows_written: int
    quarantined: int = 0

    @property
    def new(self) -> int:
        return max(0, self.rows_after - self.rows_before)

    @property
    def updated(self) -> int:
        return max(0, self.rows_written - self.new)


@dataclass
class ExtractResult:
    tables: list[TableSummary] = field(default_factory=list)
    call_stats: dict[str, CallStats] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables)


def table_counts(warehouse: Path, dataset: str, connection_id: str) -> dict[str, int]:
    """Rows per table for one connection (empty before the first load)."""
    engine = load_warehouse_engine()
    if not engine.is_postgres and not Path(warehouse).exists():
        return {}
    con = connect_read_only(warehouse, engine)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_name not like '_dlt%'",
                [dataset],
            ).fetchall()
        ]
        out = {}
        for t in tables:
            cols = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [dataset, t],
                ).fetchall()
            }
            if "connection_id" in cols:
                out[t] = con.execute(
                    f'select count(*) from "{dataset}"."{t}" where connection_id = ?', [connection_id]
                ).fetchone()[0]
        return out
    finally:
        con.close()


def quarantined_by_entity(warehouse: Path, dataset: str, connection_id: str, load_ids: Sequence[str]) -> dict[str, int]:
    if not load_ids:
        return {}
    con = connect_read_only(warehouse)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = 'quarantine'",
            [dataset],
        ).fetchone()[0]
        if not exists:
            return {}
        marks = ",".join("?" for _ in load_ids)
        rows = con.execute(
            f'select entity, count(*) from "{dataset}".quarantine '
            f"where connection_id = ? and _dlt_load_id in ({marks}) group by entity",
            [connection_id, *load_ids],
        ).fetchall()
        return dict(rows)
    finally:
        con.close()


def build_source(
    platform: str,
    conn: Connection,
    since: datetime | None,
    lookback: timedelta,
    progress: Progress | None,
    tiktok_qps: float | None = None,
) -> tuple[Any, CallStats]:
    """The dlt source of one platform × connection and its client's call stats.

    ``tiktok_qps`` overrides the client's per-path pacing (0 = none: benchmarks against an
    unthrottled sandbox measure the local stack, not TikTok's quota).
    """
    lock = threading.Lock()

    def tiktok_page(table: str, n: int) -> None:
        if progress:
            with lock:
                progress(platform, conn.id, table, n)

    def shopify_page(_entity: str, rows: dict[str, int]) -> None:
        if progress:
            with lock:
                for table, n in rows.items():
                    progress(platform, conn.id, table, n)

    if platform == "shopify":
        from extract.shopify.client import ShopifyClient
        from extract.shopify.source import shopify_source

        client = ShopifyClient(conn.shopify)
        return shopify_source(conn, lookback=lookback, since=since, client=client, on_page=shopify_page), client.stats
    from extract.tiktok_shop.client import TikTokClient
    from extract.tiktok_shop.source import tiktok_shop_source

    tclient = TikTokClient(conn.tiktok) if tiktok_qps is None else TikTokClient(conn.tiktok, qps=tiktok_qps)
    return tiktok_shop_source(conn, lookback=lookback, since=since, client=tclient, on_page=tiktok_page), tclient.stats


def run_extract(
    connections: Sequence[Connection],
    *,
    warehouse: Path,
    pipelines_dir: Path,
    platforms: Sequence[str] = PLATFORMS,
    since: datetime | None = None,
    full_refresh: bool = False,
    lookback: timedelta = timedelta(hours=2),
    progress: Progress | None = None,
    on_stage: Callable[[str], None] | None = None,
    tiktok_qps: float | None = None,
    workers: int = 1,
) -> ExtractResult:
    """Extract every connection × platform into the warehouse.

    ``workers`` > 1 runs the sources' extract + normalize in that many processes at once (CPU
    work: parsing, typing, writing load files) while every step that touches the warehouse
    (restoring state, finishing a crashed package, loading, counting) takes one cross-process
    lock, so there is still one writer at a time. ``workers`` = 1 runs everything here, in this
    process, one source after another.
    """
    result = ExtractResult()
    config = run_source(
        config_source(connections),
        platform="config",
        connection_id="all",
        warehouse=warehouse,
        pipelines_dir=pipelines_dir,
    )
    result.load_ids += config.load_ids
    jobs = [(conn, platform) for conn in connections for platform in platforms]
    if workers > 1 and len(jobs) > 1:
        done = _run_parallel(
            jobs, warehouse, pipelines_dir, since, full_refresh, lookback, progress, on_stage, tiktok_qps, workers
        )
    else:
        done = []
        for conn, platform in jobs:
            if on_stage:
                on_stage(f"{platform} · {conn.id}")
            args = (since, full_refresh, lookback, progress, tiktok_qps)
            done.append(_extract_one(conn, platform, warehouse, pipelines_dir, *args))
    for conn, platform in jobs:
        outcome = next(o for o in done if o.connection_id == conn.id and o.platform == platform)
        result.load_ids += outcome.load_ids
        result.call_stats[f"{platform}:{conn.id}"] = outcome.stats
        result.tables.extend(outcome.tables)
    return result


@dataclass
class _Outcome:
    """One connection × platform's part of an ``ExtractResult`` (picklable: it crosses processes)."""

    connection_id: str
    platform: str
    load_ids: list[str]
    stats: CallStats
    tables: list[TableSummary]


@contextlib.contextmanager
def _writer_lock(path: Path | None) -> Iterator[None]:
    """Hold the warehouse's one-writer lock (an flock beside the file) for the body; None: no lock."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _extract_one(
    conn: Connection,
    platform: str,
    warehouse: Path,
    pipelines_dir: Path,
    since: datetime | None,
    full_refresh: bool,
    lookback: timedelta,
    progress: Progress | None,
    tiktok_qps: float | None,
    lock_path: Path | None = None,
) -> _Outcome:
    dataset = DATASETS[platform]
    source, stats = build_source(platform, conn, since, lookback, progress, tiktok_qps)
    if lock_path is None:
        before = table_counts(warehouse, dataset, conn.id)
        summary = run_source(
            source,
            platform=platform,
            connection_id=conn.id,
            warehouse=warehouse,
            pipelines_dir=pipelines_dir,
            full_refresh=full_refresh,
        )
        after = table_counts(warehouse, dataset, conn.id)
        quarantined = quarantined_by_entity(warehouse, dataset, conn.id, summary.load_ids)
    else:
        with _writer_lock(lock_path):
            before = table_counts(warehouse, dataset, conn.id)
        summary = _run_source_split(source, platform, conn.id, warehouse, pipelines_dir, full_refresh, lock_path)
        with _writer_lock(lock_path):
            after = table_counts(warehouse, dataset, conn.id)
            quarantined = quarantined_by_entity(warehouse, dataset, conn.id, summary.load_ids)
    tables = [
        TableSummary(
            platform=platform,
            connection_id=conn.id,
            table=table,
            rows_before=before.get(table, 0),
            rows_after=after.get(table, 0),
            rows_written=summary.rows.get(table, 0),
            quarantined=quarantined.get(table, 0),
        )
        for table in sorted(set(after) | set(summary.rows))
        if table != "quarantine"
    ]
    return _Outcome(conn.id, platform, list(summary.load_ids), stats, tables)


def _run_source_split(
    source: Any,
    platform: str,
    connection_id: str,
    warehouse: Path,
    pipelines_dir: Path,
    full_refresh: bool,
    lock_path: Path,
) -> LoadSummary:
    """``run_source`` with only the warehouse steps under the writer lock: what ``Pipeline.run`` does,
    step by step (sync state, finish pending packages, extract, normalize, load)."""
    pipeline = make_pipeline(platform, connection_id, warehouse, pipelines_dir)
    with _writer_lock(lock_path):
        if pipeline.has_pending_data:
            pipeline.normalize()
            pipeline.load()
        if full_refresh:
            _reset_source_state(pipeline, source)
        pipeline.sync_destination()
    pipeline.extract(source, loader_file_format=loader_file_format())
    pipeline.normalize()
    with _writer_lock(lock_path):
        info = pipeline.load()
    summary = LoadSummary(pipeline.pipeline_name, DATASETS[platform], list(info.loads_ids))
    norm = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    if norm is not None:
        for table, n in (norm.row_counts or {}).items():
            if not table.startswith("_dlt"):
                summary.rows[table] = summary.rows.get(table, 0) + n
    return summary


def _worker_job(
    conn: Connection,
    platform: str,
    warehouse: Path,
    pipelines_dir: Path,
    since: datetime | None,
    full_refresh: bool,
    lookback: timedelta,
    tiktok_qps: float | None,
    lock_path: Path,
    events: Any,
) -> _Outcome:
    """One source in a worker process; progress goes back to the parent through ``events``."""

    def progress(platform: str, conn_id: str, table: str, rows: int) -> None:
        events.put((platform, conn_id, table, rows))

    return _extract_one(
        conn, platform, warehouse, pipelines_dir, since, full_refresh, lookback, progress, tiktok_qps, lock_path
    )


def _run_parallel(
    jobs: list[tuple[Connection, str]],
    warehouse: Path,
    pipelines_dir: Path,
    since: datetime | None,
    full_refresh: bool,
    lookback: timedelta,
    progress: Progress | None,
    on_stage: Callable[[str], None] | None,
    tiktok_qps: float | None,
    workers: int,
) -> list[_Outcome]:
    import multiprocessing as mp
    import queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    lock_path = Path(f"{warehouse}.writer.lock")
    ctx = mp.get_context("spawn")  # dlt and httpx start threads: never fork them
    with ctx.Manager() as manager, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as pool:
        events = manager.Queue()
        pending = {
            pool.submit(
                _worker_job,
                conn,
                platform,
                warehouse,
                pipelines_dir,
                since,
                full_refresh,
                lookback,
                tiktok_qps,
                lock_path,
                events,
            ): f"{platform} · {conn.id}"
            for conn, platform in jobs
        }
        outcomes: list[_Outcome] = []

        def drain() -> None:
            while True:
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    return
                if progress:
                    progress(*event)

        try:
            while pending:
                if on_stage:
                    on_stage(", ".join(sorted(pending.values())) + f" ({min(workers, len(pending))} at a time)")
                finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                drain()
                for future in finished:
                    pending.pop(future)
                    outcomes.append(future.result())
        except BaseException:
            # one source failed: the queued ones must not start (the running one finishes its step;
            # its package is completed by the next run, as after a crash)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        drain()
    return outcomes
