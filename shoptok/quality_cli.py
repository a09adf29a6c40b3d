"""``shoptok quality``: run every data-quality suite on the warehouse, build Data Docs, summarise.

The exit code is 1 when a blocking check fails (the same checks stop the repair jobs in Dagster),
so a script or CI step can gate on it; warnings are shown but exit 0.
"""

from __future__ import annotations

import time
import webbrowser
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from shoptok.settings import load_settings

if TYPE_CHECKING:
    from expectations.checks import CheckOutcome


def build_clock(warehouse: Path) -> datetime | None:
    """The ``as_of`` the marts were built with (their ``detected_at``), or None before any dbt build.

    Checking a warehouse against the clock it was built with keeps "not in the future" honest
    for a sandbox merchant whose clock is not the wall clock.
    """
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'repair_actions'"
        ).fetchall()
        if not found[0][0]:
            return None
        rows = con.execute("select max(detected_at) from marts.repair_actions").fetchall()
    finally:
        con.close()
    value = rows[0][0]
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def summary_table(outcomes: dict[str, CheckOutcome]) -> Table:
    """One row per check: blocking or warn, pass or fail, rows read, and what failed first."""
    from expectations.checks import CHECKS_BY_NAME

    table = Table(title="data quality", show_lines=False)
    table.add_column("check")
    table.add_column("asset")
    table.add_column("severity")
    table.add_column("result")
    table.add_column("rows", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("first failure", overflow="fold")
    for name, outcome in outcomes.items():
        spec = CHECKS_BY_NAME[name]
        meta = outcome.metadata
        failures = list((meta.get("failing_examples") or {}).keys())
        for exc in meta.get("exception_info") or []:
            failures.insert(0, f"exception in {exc['expectation']}: {str(exc['message'])[:80]}")
        if outcome.passed:
            result = "[green]pass[/green]"
        elif outcome.blocking:
            result = "[bold red]FAIL[/bold red]"
        else:
            result = "[yellow]warn[/yellow]"
        table.add_row(
            name,
            "/".join(spec.asset_key),
            "ERROR" if outcome.blocking else "WARN",
            result,
            str(meta.get("row_count", "")),
            str(meta.get("failed_expectations", 0)),
            failures[0] if failures else "",
        )
    return table


def quality_cmd(
    open_docs: Annotated[bool, typer.Option("--open", help="Open the Data Docs index in a browser.")] = False,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse", help="DuckDB warehouse file (default: $SHOPTOK_WAREHOUSE or var/warehouse.duckdb)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The run's clock, ISO-8601 UTC (default: the clock the marts were built with)."),
    ] = None,
) -> None:
    """Run every Great Expectations suite on the warehouse, build Data Docs, print a summary."""
    from expectations.checks import DEFAULT_DOCS_DIR, run_all

    # sized when the command runs, so the caller's COLUMNS applies (a module-level console is sized at import)
    console = Console()
    settings = load_settings(warehouse, as_of)
    target = settings.warehouse_path
    if not target.exists():
        console.print(f"[red]no warehouse at {target}[/red] (run `shoptok extract` and `shoptok transform` first)")
        raise typer.Exit(2)
    clock = settings.as_of or build_clock(target) or settings.as_of_or_now()
    started = time.monotonic()
    with console.status(f"validating {target} as of {clock.isoformat()} (loading Great Expectations)..."):
        outcomes = run_all(target, clock)
    console.print(summary_table(outcomes))
    failed = [o for o in outcomes.values() if not o.passed]
    blocking = [o for o in failed if o.blocking]
    index = DEFAULT_DOCS_DIR / "index.html"
    console.print(
        f"{len(outcomes)} checks, {len(outcomes) - len(failed)} passed, {len(blocking)} blocking failure(s), "
        f"{len(failed) - len(blocking)} warning(s) in {time.monotonic() - started:.1f} s"
    )
    console.print(f"Data Docs: {index}")
    for outcome in failed:
        console.print(f"  {outcome.metadata.get('check')}: {outcome.metadata.get('data_docs_path')}")
    if open_docs:
        webbrowser.open(index.as_uri())
    if blocking:
        raise typer.Exit(1)
