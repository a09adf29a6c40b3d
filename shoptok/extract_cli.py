"""What `shoptok extract` shows while it runs (rich progress) and when it ends (per-table summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from extract.run import ExtractResult, run_extract
from shoptok.connections import connections_from_sandbox
from shoptok.embedded import EmbeddedSandbox
from shoptok.settings import Settings, parse_as_of


def run_extract_cli(
    console: Console,
    settings: Settings,
    conns: list[Any] | None,
    *,
    connection: str | None,
    since: str | None,
    full_refresh: bool,
    seed: int,
    tiktok_qps: float | None = None,
    workers: int = 1,
) -> ExtractResult:
    sandbox = None
    if conns is None:
        with console.status("starting the embedded sandbox..."):
            sandbox = EmbeddedSandbox(seed=seed).start()
        conns = [c for c in connections_from_sandbox(sandbox.info) if connection in (None, c.id)]
        console.print(f"embedded sandbox at {sandbox.base_url} (no credentials needed)")
    if not conns:
        console.print("[red]no connection matches[/red]")
        raise typer.Exit(2)
    try:
        result = _run_with_progress(console, settings, conns, since, full_refresh, tiktok_qps, workers)
    finally:
        if sandbox:
            sandbox.stop()
    console.print(summary_table(result))
    return result


def _run_with_progress(
    console: Console,
    settings: Settings,
    conns,
    since,
    full_refresh,
    tiktok_qps: float | None = None,
    workers: int = 1,
) -> ExtractResult:
    tasks: dict[tuple[str, str, str], Any] = {}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:>8,.0f} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        stage = progress.add_task("starting", total=None)

        def on_page(platform: str, conn_id: str, table: str, rows: int) -> None:
            key = (platform, conn_id, table)
            if key not in tasks:
                tasks[key] = progress.add_task(f"  {platform}/{conn_id} {table}", total=None)
            progress.advance(tasks[key], rows)

        def on_stage(label: str) -> None:
            progress.update(stage, description=f"extracting {label}")

        result = run_extract(
            conns,
            warehouse=settings.warehouse_path,
            pipelines_dir=settings.pipelines_dir,
            since=parse_as_of(since),
            full_refresh=full_refresh,
            progress=on_page,
            on_stage=on_stage,
            tiktok_qps=tiktok_qps,
            workers=workers,
        )
        progress.update(stage, description="extraction done")
    return result


def summary_table(result: ExtractResult) -> Table:
    table = Table(title="raw tables after this run")
    for col in ("platform", "connection", "table", "rows", "new", "updated", "quarantined"):
        numeric = col in ("rows", "new", "updated", "quarantined")
        table.add_column(col, justify="right" if numeric else "left", overflow="fold")
    for t in result.tables:
        q = f"[red]{t.quarantined}[/red]" if t.quarantined else "0"
        table.add_row(t.platform, t.connection_id, t.table, f"{t.rows_after:,}", f"{t.new:,}", f"{t.updated:,}", q)
    calls = sum(s.calls for s in result.call_stats.values())
    retries = sum(s.retries for s in result.call_stats.values())
    throttled = sum(s.throttled for s in result.call_stats.values())
    waited = sum(s.wait_s for s in result.call_stats.values())
    table.caption = (
        f"{calls:,} API calls, {retries} retries, {throttled} throttled, {waited:.1f} s waiting; "
        f"{result.quarantined} records quarantined (see raw_*.quarantine)"
    )
    return table


def drift_summary(warehouse: Path) -> Table:
    from shoptok.warehouse import connect_read_only

    con = connect_read_only(warehouse)
    try:
        rows = con.execute(
            """
            select 'orders', drift_type, count(*) from marts.fct_order_reconciliation group by 1, 2
            union all select 'inventory', drift_type, count(*) from marts.fct_inventory_drift group by 1, 2
            union all select 'refunds', drift_type, count(*) from marts.fct_refund_reconciliation group by 1, 2
            union all select 'payouts', drift_type, count(*) from marts.fct_payout_reconciliation group by 1, 2
            union all select 'repair actions', action_type, count(*) from marts.repair_actions group by 1, 2
            order by 1, 2
            """
        ).fetchall()
    finally:
        con.close()
    table = Table(title="marts")
    for col in ("mart", "drift type / action", "rows"):
        table.add_column(col)
    for mart, kind, n in rows:
        table.add_row(mart, kind, f"{n:,}")
    return table
