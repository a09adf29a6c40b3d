"""The ``shoptok`` command line. Each stage takes ``--warehouse`` and, where time matters, ``--as-of``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from shoptok.settings import load_settings

app = typer.Typer(
    name="shoptok",
    help="ELT and reconciliation for merchants selling on Shopify and TikTok Shop.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.command(
    "sandbox",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help="Local Shopify + TikTok Shop emulators: serve, generate, export (run `shoptok sandbox --help`).",
)
def sandbox_cmd(ctx: typer.Context) -> None:
    """Forward to ``python -m sandbox`` so the product never imports the emulators."""
    env = {**os.environ, "SANDBOX_PROG_NAME": "shoptok sandbox"}
    raise typer.Exit(subprocess.call([sys.executable, "-m", "sandbox", *ctx.args], env=env))


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option("--seed", help="Merchant generator seed.")] = 42,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Clock for the whole run, ISO-8601 UTC.")] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Run on a scenario directory instead of the generator.")
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option("--warehouse", help="Demo warehouse (default var/demo/warehouse.duckdb; rebuilt).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan the repairs but do not apply them.")] = False,
) -> None:
    """Sandbox merchant → extract → dbt build → repair → re-extract → rebuild: drift before and after."""
    from shoptok.demo import run_demo

    run_demo(console, seed=seed, as_of=as_of, scenario=scenario, warehouse=warehouse, dry_run=dry_run)


WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB warehouse file (default: $SHOPTOK_WAREHOUSE or var/warehouse.duckdb)."),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="The run's clock, ISO-8601 UTC (default: now, or the sandbox's).")
]


def _connections(connections_file: Path | None, sandbox_url: str | None, connection: str | None):
    """Connections from a file (+ env credentials), a running sandbox, or None for the embedded sandbox."""
    from shoptok.connections import connection_from_entry, load_connections_file
    from shoptok.settings import environ

    if connections_file:
        conns = load_connections_file(connections_file, environ())
    elif sandbox_url:
        manifest = httpx.get(f"{sandbox_url.rstrip('/')}/_sandbox/manifest", timeout=30).raise_for_status().json()
        conns = [
            connection_from_entry(
                c,
                shopify_base_url=f"{sandbox_url.rstrip('/')}/shopify/{c['shopify']['shop_domain']}",
                tiktok_base_url=f"{sandbox_url.rstrip('/')}/tiktok",
            )
            for c in manifest["connections"]
        ]
    else:
        return None
    return [c for c in conns if connection in (None, c.id)]


@app.command("extract")
def extract_cmd(
    connection: Annotated[str | None, typer.Option("--connection", help="Only this connection id.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="First load starts here (ISO date or time).")] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Forget cursors and re-read everything.")
    ] = False,
    as_of: AsOfOpt = None,
    warehouse: WarehouseOpt = None,
    connections_file: Annotated[
        Path | None, typer.Option("--connections", help="Connections file (credentials from env vars).", exists=True)
    ] = None,
    sandbox_url: Annotated[str | None, typer.Option("--sandbox-url", help="Extract from a running sandbox.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the embedded sandbox merchant.")] = 42,
    tiktok_qps: Annotated[
        float | None,
        typer.Option("--tiktok-qps", help="TikTok requests/s per API path (default 47; 0 = no pacing, benchmarks)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", help="Sources extracted at once, in processes (loads stay one at a time)."),
    ] = 1,
) -> None:
    """Land raw Shopify and TikTok Shop data in the warehouse, incrementally, merging on keys."""
    from shoptok.extract_cli import run_extract_cli

    settings = load_settings(warehouse, as_of)
    conns = _connections(connections_file, sandbox_url, connection)
    run_extract_cli(
        console,
        settings,
        conns,
        connection=connection,
        since=since,
        full_refresh=full_refresh,
        seed=seed,
        tiktok_qps=tiktok_qps,
        workers=workers,
    )


@app.command("transform")
def transform_cmd(
    as_of: AsOfOpt = None,
    warehouse: WarehouseOpt = None,
    select: Annotated[str | None, typer.Option("--select", help="dbt node selection.")] = None,
) -> None:
    """Build the dbt models (staging → intermediate → marts) and their tests with the run's clock."""
    from shoptok.extract_cli import drift_summary
    from shoptok.transform import run_dbt

    settings = load_settings(warehouse, as_of)
    clock = settings.as_of_or_now()
    args = ["build"] + (["--select", select] if select else [])
    with console.status(f"dbt build (as of {clock.isoformat()})..."):
        result = run_dbt(args, warehouse=settings.warehouse_path, as_of=clock)
    tail = "\n".join(
        line for line in result.output.splitlines() if "Done." in line or "ERROR" in line or "FAIL" in line
    )
    console.print(tail or result.output[-2000:])
    if not result.ok:
        raise typer.Exit(1)
    console.print(drift_summary(settings.warehouse_path))


from shoptok.repair_cli import repair_cmd  # noqa: E402 - registered after the core commands

app.command("repair")(repair_cmd)

from shoptok.quality_cli import quality_cmd  # noqa: E402
from shoptok.reports.cli import report_app  # noqa: E402

app.command("quality")(quality_cmd)

app.add_typer(report_app, name="report")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
