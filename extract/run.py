"""One extraction run: the merchant config, then each connection's Shopify and TikTok sources.

Connections run one after another and every load goes through the same DuckDB file: DuckDB takes
one writer at a time, so this module never loads two pipelines at once. What it returns is the
per-table summary the CLI prints (rows new / updated / quarantined) and the clients' call stats.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from extract.common.http import CallStats
from extract.config_source import config_source
from extract.pipeline import DATASETS, run_source
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
) -> ExtractResult:
    result = ExtractResult()
    config = run_source(
        config_source(connections),
        platform="config",
        connection_id="all",
        warehouse=warehouse,
        pipelines_dir=pipelines_dir,
    )
    result.load_ids += config.load_ids
    for conn in connections:
        for platform in platforms:
            if on_stage:
                on_stage(f"{platform} · {conn.id}")
            dataset = DATASETS[platform]
            before = table_counts(warehouse, dataset, conn.id)
            source, stats = build_source(platform, conn, since, lookback, progress, tiktok_qps)
            summary = run_source(
                source,
                platform=platform,
                connection_id=conn.id,
                warehouse=warehouse,
                pipelines_dir=pipelines_dir,
                full_refresh=full_refresh,
            )
            result.load_ids += summary.load_ids
            result.call_stats[f"{platform}:{conn.id}"] = stats
            after = table_counts(warehouse, dataset, conn.id)
            quarantined = quarantined_by_entity(warehouse, dataset, conn.id, summary.load_ids)
            for table in sorted(set(after) | set(summary.rows)):
                if table == "quarantine":
                    continue
                result.tables.append(
                    TableSummary(
                        platform=platform,
                        connection_id=conn.id,
                        table=table,
                        rows_before=before.get(table, 0),
                        rows_after=after.get(table, 0),
                        rows_written=summary.rows.get(table, 0),
                        quarantined=quarantined.get(table, 0),
                    )
                )
    return result
