"""``shoptok repair``: apply the repair plan from the command line (a dry run unless ``--apply``).

Register it with ``app.command("repair")(repair_cmd)``: the parameters carry their typer options.
It prints, per action type, how many actions were planned / held / applied / skipped / failed,
then the alerts that need a person, money ones first and highlighted (alerts are never executed;
they are in ``ops.alerts``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shoptok.settings import load_settings, parse_as_of

console = Console()

#: alerts printed; the rest are counted (all of them are in ops.alerts)
ALERTS_SHOWN = 40
COLUMNS = ("planned", "held", "applied", "skipped", "failed", "unknown", "done_before", "gave_up")
STYLE = {"applied": "green", "failed": "red", "unknown": "yellow", "gave_up": "red", "held": "cyan"}


def _load_connections(connections_file: Path | None, sandbox_url: str | None):
    """Connections from a file (credentials from env vars) or a running sandbox; None = embedded sandbox."""
    from shoptok.connections import connection_from_entry, load_connections_file
    from shoptok.settings import environ

    if connections_file:
        return load_connections_file(connections_file, environ())
    if sandbox_url:
        base = sandbox_url.rstrip("/")
        manifest = httpx.get(f"{base}/_sandbox/manifest", timeout=30).raise_for_status().json()
        return [
            connection_from_entry(
                c, shopify_base_url=f"{base}/shopify/{c['shopify']['shop_domain']}", tiktok_base_url=f"{base}/tiktok"
            )
            for c in manifest["connections"]
        ]
    return None


def counts_table(report) -> Table:
    """Per action type, the count of each outcome; ``held`` = not allowed in this run."""
    table = Table(title=f"repair actions ({'dry run: nothing called' if report.dry_run else 'applied'})")
    table.add_column("action type")
    shown = [c for c in COLUMNS if c in ("planned", "applied", "skipped", "failed") or report.totals()[c]]
    for col in shown:
        table.add_column(col, justify="right")
    counts = report.counts()
    for action_type in sorted(counts):
        row = counts[action_type]
        table.add_row(
            action_type,
            *(f"[{STYLE[c]}]{row[c]}[/{STYLE[c]}]" if row[c] and c in STYLE else str(row[c]) for c in shown),
        )
    totals = report.totals()
    table.add_row("[bold]total[/bold]", *(f"[bold]{totals[c]}[/bold]" for c in shown))
    table.caption = f"{report.superseded} ledger rows superseded by this plan; {report.elapsed_s:.1f} s" + (
        "" if report.allowed else "; allowed: every type that needs no approval"
    )
    return table


def alerts_table(report) -> Table:
    from orchestration.defs.writeback.engine import alerts_needing_a_person

    alerts = alerts_needing_a_person(report)
    money = sum(1 for a in alerts if a.money_moving)
    table = Table(title=f"alerts needing a person: {len(alerts)} ({money} about money)")
    for col in ("", "drift", "connection", "message"):
        table.add_column(col, overflow="fold")
    for a in alerts[:ALERTS_SHOWN]:
        if a.money_moving:
            table.add_row(
                "[bold red]$[/bold red]",
                f"[bold red]{a.reason_drift_type}[/bold red]",
                a.connection_id,
                a.message or "",
            )
        else:
            table.add_row("", a.reason_drift_type, a.connection_id, a.message or "")
    if len(alerts) > ALERTS_SHOWN:
        table.caption = f"…and {len(alerts) - ALERTS_SHOWN} more: select * from ops.alerts"
    return table


def failures_table(report) -> Table | None:
    bad = [r for r in report.results if r.status in ("failed", "unknown", "gave_up")]
    if not bad:
        return None
    table = Table(title="actions that did not apply")
    for col in ("action type", "target", "status", "why"):
        table.add_column(col, overflow="fold")
    for r in bad:
        table.add_row(
            r.action_type, r.target_id, f"[{STYLE[r.status]}]{r.status}[/{STYLE[r.status]}]", r.error or r.detail or ""
        )
    return table


def repair_cmd(
    apply: Annotated[
        bool, typer.Option("--apply", help="Call the platform APIs. Without it: a dry run (ledger rows, no calls).")
    ] = False,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            help="Action type to execute (repeatable or comma-separated; 'all' = every type). Default: every "
            "type that needs no approval (cancel_shopify_order and set_tiktok_price need it).",
        ),
    ] = None,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse", help="DuckDB warehouse file (default: $SHOPTOK_WAREHOUSE or var/warehouse.duckdb)."
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The run's clock, ISO-8601 UTC (alerts are seen at it).")
    ] = None,
    connections_file: Annotated[
        Path | None, typer.Option("--connections", help="Connections file (credentials from env vars).", exists=True)
    ] = None,
    sandbox_url: Annotated[str | None, typer.Option("--sandbox-url", help="Repair a running sandbox.")] = None,
) -> None:
    """Apply marts.repair_actions to Shopify and TikTok Shop, each action at most once (see docs/writeback.md)."""
    from orchestration.defs.writeback.engine import apply_actions

    settings = load_settings(warehouse, as_of)
    target = settings.warehouse_path
    if not target.exists():
        console.print(f"[red]no warehouse at {target}[/red]: run `shoptok extract` and `shoptok transform` first")
        raise typer.Exit(2)
    conns = _load_connections(connections_file, sandbox_url)
    sandbox = None
    clock = settings.as_of
    if conns is None:
        from shoptok.connections import connections_from_sandbox
        from shoptok.embedded import EmbeddedSandbox

        with console.status("starting the embedded sandbox..."):
            sandbox = EmbeddedSandbox().start()
        conns = connections_from_sandbox(sandbox.info)
        clock = clock or parse_as_of(sandbox.info.get("as_of"))
        console.print(f"embedded sandbox at {sandbox.base_url} (its state is discarded when this command ends)")
    try:
        with console.status("applying the repair plan..." if apply else "recording the plan (dry run)..."):
            report = apply_actions(
                target,
                conns,
                dry_run=not apply,
                allow=set(allow) if allow else None,
                actor="cli",
                as_of=clock or settings.as_of_or_now(),
            )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        if sandbox is not None:
            sandbox.stop()
    console.print(counts_table(report))
    failures = failures_table(report)
    if failures is not None:
        console.print(failures)
    console.print(alerts_table(report))
    if not apply:
        console.print("dry run: nothing was called. Re-run with --apply (and --allow TYPE for approval types).")
    console.print(f"ledger: {target} → ops.writeback_ledger, ops.alerts")
    if any(r.status in ("failed", "gave_up") for r in report.results):
        raise typer.Exit(1)
