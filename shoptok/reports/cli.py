"""``shoptok report payouts|catalog|drift|analyst-copy``: thin typer wrappers over the report functions.

The commands only parse options, resolve paths through the settings module and print what was
written; the work lives in plain functions that the Dagster assets call too. Register them with
``app.add_typer(report_app, name="report")`` (or register the ``*_cmd`` functions one by one).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shoptok.settings import Settings, load_settings

console = Console()

report_app = typer.Typer(
    name="report",
    help="Finance and analyst reports: payouts (XLSX + HTML), catalog and drift (HTML + CSV), the analyst copy.",
    no_args_is_help=True,
    add_completion=False,
)


class Basis(StrEnum):
    settlement_date = "settlement_date"
    order_date = "order_date"


WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB warehouse file (default: $SHOPTOK_WAREHOUSE or var/warehouse.duckdb)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Clock for ages and the default week, ISO-8601 UTC (default: the warehouse's build clock)."
    ),
]
ConnectionOpt = Annotated[str | None, typer.Option("--connection", help="Only this connection id.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Output folder (default: <SHOPTOK_HOME>/reports).")]


def _settings(warehouse: Path | None, as_of: str | None) -> Settings:
    try:
        return load_settings(warehouse, as_of)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from exc


def _out_dir(settings: Settings, out: Path | None) -> Path:
    return out if out is not None else settings.home / "reports"


def _written(paths: list[Path], seconds: float) -> None:
    for p in paths:
        console.print(f"  [green]wrote[/green] {p}")
    console.print(f"  in {seconds:.2f} s")


@report_app.command("payouts")
def report_payouts_cmd(
    week: Annotated[str | None, typer.Option("--week", help="ISO week, e.g. 2026-W47 (or any date inside it).")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); widened to whole ISO weeks.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); widened to whole ISO weeks.")
    ] = None,
    connection: ConnectionOpt = None,
    basis: Annotated[
        Basis, typer.Option("--basis", help="settlement_date (ties to statements and payments) or order_date.")
    ] = Basis.settlement_date,
    out: OutOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Weekly TikTok payout reconciliation: an XLSX workbook and an HTML report with charts.

    Without --week or --from/--to, reports the last complete ISO week before the data clock.
    """
    from shoptok.reports.payouts import write_payout_report

    settings = _settings(warehouse, as_of)
    try:
        report = write_payout_report(
            settings.warehouse_path,
            _out_dir(settings, out),
            week=week,
            date_from=date_from,
            date_to=date_to,
            basis=basis.value,
            connection=connection,
            as_of=settings.as_of,
        )
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(title=f"TikTok payouts {report.period_label} ({report.basis})")
    for col in ("connection", "currency", "net settlement", "paid out", "fees", "unexplained", "unreconciled"):
        table.add_column(col, justify="right" if col not in ("connection", "currency") else "left")
    for t in report.totals:
        table.add_row(
            t["connection_id"],
            t["currency"],
            t["net_settlement"],
            t["paid_out"],
            t["total_fees"],
            t["unexplained_difference"],
            str(t["unreconciled_count"]),
        )
    console.print(table)
    _written(report.paths, report.seconds)


def _write_report(
    write: Callable[..., Any], warehouse: Path | None, as_of: str | None, out: Path | None, connection: str | None
) -> Any:
    """Run one report writer with the shared options; a missing warehouse or mart exits 1 with its message."""
    settings = _settings(warehouse, as_of)
    try:
        return write(settings.warehouse_path, _out_dir(settings, out), connection=connection, as_of=settings.as_of)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@report_app.command("catalog")
def report_catalog_cmd(
    connection: ConnectionOpt = None,
    out: OutOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Catalog violations with fix hints (what to change in Shopify), as HTML and CSV."""
    from shoptok.reports.catalog import write_catalog_report

    report = _write_report(write_catalog_report, warehouse, as_of, out, connection)
    console.print(f"{report.variants} variants not publishable, {report.violations} violations")
    _written(report.paths, report.seconds)


@report_app.command("drift")
def report_drift_cmd(
    connection: ConnectionOpt = None,
    out: OutOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Open drift by type with its age and the planned repair, as HTML and CSV."""
    from shoptok.reports.drift import write_drift_report

    report = _write_report(write_drift_report, warehouse, as_of, out, connection)
    console.print(f"{report.open_items} open drift items")
    _written(report.paths, report.seconds)


@report_app.command("analyst-copy")
def analyst_copy_cmd(
    target: Annotated[
        Path | None,
        typer.Option("--target", help="Analyst copy to publish (default: <warehouse>.analyst.duckdb beside it)."),
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Publish the analyst copy now (the pipeline does it after each successful run)."""
    import time

    from shoptok.reports.analyst_copy import default_analyst_copy_path, publish_analyst_copy

    settings = _settings(warehouse, None)
    started = time.perf_counter()
    try:
        path = publish_analyst_copy(
            settings.warehouse_path, target or default_analyst_copy_path(settings.warehouse_path)
        )
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    size_mb = path.stat().st_size / 1e6
    console.print(f"published {path} ({size_mb:.1f} MB) in {time.perf_counter() - started:.2f} s")
    console.print(f"open it read-only: duckdb -readonly {path}")
