"""`make demo`: the whole loop on the sandbox merchant, with the drift before and after one repair cycle.

Sandbox (its own process, real HTTP) → extract → dbt build → apply the repair plan against the
sandbox → re-extract → rebuild → drift per type before and after, the money alerts that need a
person, and where the warehouse, the reports and the UI are.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from shoptok.connections import connections_from_sandbox
from shoptok.embedded import EmbeddedSandbox
from shoptok.extract_cli import _run_with_progress, summary_table
from shoptok.reports.analyst_copy import default_analyst_copy_path, publish_analyst_copy
from shoptok.reports.bundle import write_all_reports
from shoptok.settings import Settings, load_settings, parse_as_of
from shoptok.transform import run_dbt

DRIFT_MARTS = {
    "orders": ("fct_order_reconciliation", "in_sync"),
    "inventory": ("fct_inventory_drift", "in_sync"),
    "refunds": ("fct_refund_reconciliation", "in_sync"),
    "payouts": ("fct_payout_reconciliation", "balanced"),
}


def drift_counts(warehouse: Path) -> Counter[tuple[str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out: Counter[tuple[str, str]] = Counter()
        for label, (mart, ok) in DRIFT_MARTS.items():
            for drift, n in con.execute(
                f"select drift_type, count(*) from marts.{mart} where drift_type != ? group by 1", [ok]
            ).fetchall():
                out[(label, drift)] = n
        for violation, n in con.execute(
            "select v, count(*) from (select unnest(violations) as v from marts.dim_catalog_health) group by 1"
        ).fetchall():
            out[("catalog", violation)] = n
        return out
    finally:
        con.close()


def money_alerts(warehouse: Path, limit: int = 12) -> list[tuple[str, str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select connection_id, reason_drift_type, json_extract_string(payload, '$.message') "
            "from marts.repair_actions where action_type = 'alert' and money_moving order by 2, 1, 3 limit ?",
            [limit],
        ).fetchall()
    finally:
        con.close()


def _build(console: Console, warehouse: Path, as_of) -> None:
    with console.status(f"dbt build (as of {as_of.isoformat()})..."):
        built = run_dbt(["build"], warehouse=warehouse, as_of=as_of)
    if not built.ok:
        console.print(built.output[-4000:])
        raise typer.Exit(1)


def run_demo(
    console: Console,
    *,
    seed: int,
    as_of: str | None,
    scenario: Path | None,
    warehouse: Path | None,
    dry_run: bool,
) -> None:
    from orchestration.defs.writeback.engine import apply_actions

    started = time.monotonic()
    home = load_settings().home / "demo"
    target = warehouse or home / "warehouse.duckdb"
    shutil.rmtree(home / "dlt", ignore_errors=True)
    for stale in (target, target.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    settings = Settings(home=home, warehouse=target, as_of=parse_as_of(as_of))
    with console.status("starting the sandbox (generating the merchant)..."):
        sandbox = EmbeddedSandbox(seed=seed, as_of=as_of, scenario=scenario).start()
    try:
        clock = parse_as_of(sandbox.info["as_of"])
        conns = connections_from_sandbox(sandbox.info)
        console.print(f"sandbox at {sandbox.base_url}, merchant as of {clock.isoformat()}")
        console.rule("1. extract")
        console.print(summary_table(_run_with_progress(console, settings, conns, None, False)))
        console.rule("2. reconcile (dbt build)")
        _build(console, target, clock)
        before = drift_counts(target)
        console.rule("3. repair" + (" (dry run)" if dry_run else " (applied to the sandbox)"))
        report = apply_actions(target, conns, dry_run=dry_run, allow={"all"}, actor="cli", as_of=clock)
        repairs = Table(title="repair plan")
        for col in ("action type", *report.totals().keys()):
            repairs.add_column(col, justify="left" if col == "action type" else "right")
        for action_type, counts in sorted(report.counts().items()):
            repairs.add_row(action_type, *(str(v) for v in counts.values()))
        console.print(repairs)
        console.print(f"{len(report.alerts)} alerts for a person (never executed)")
        console.rule("4. re-extract and rebuild")
        _run_with_progress(console, settings, conns, None, False)
        _build(console, target, clock)
        after = drift_counts(target)
    finally:
        sandbox.stop()
    reports = write_all_reports(target, home / "reports", as_of=clock)
    analyst = publish_analyst_copy(target, default_analyst_copy_path(target))

    table = Table(title="drift before and after one repair cycle")
    for col, justify in (("mart", "left"), ("drift type", "left"), ("before", "right"), ("after", "right")):
        table.add_column(col, justify=justify)
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key, 0), after.get(key, 0)
        style = "green" if a == 0 and b else ("red" if a > b else "")
        table.add_row(key[0], key[1], str(b), f"[{style}]{a}[/{style}]" if style else str(a))
    console.print(table)
    alerts = Table(title="money alerts that need a person (first 12)")
    for col in ("connection", "drift", "what to do"):
        alerts.add_column(col, overflow="fold")
    for row in money_alerts(target):
        alerts.add_row(*row)
    console.print(alerts)
    console.print("reports:")
    for path in reports:
        console.print(f"  {path}")
    console.print(f"warehouse: {target}  (schema 'marts'; docs/marts.md)")
    console.print(f"analyst copy (open read-only, never blocks the pipeline): {analyst}  (docs/analysts.md)")
    console.print("Dagster UI: `make ui`, then http://127.0.0.1:3000")
    console.print(f"demo finished in {time.monotonic() - started:.1f} s")
