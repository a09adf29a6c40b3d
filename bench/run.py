"""Scale series: generate a merchant per tier, serve it unthrottled, time extract → dbt build → GX checks.

    make bench                                      # tiers 10k and 100k
    make bench BENCH_ARGS='--tiers 10k 100k 1m'     # adds the 1M tier
    .venv/bin/python bench/run.py --tiers 10k --skip-incremental --skip-overhead --skip-pacing

A tier of N means about N TikTok orders and about N Shopify orders in total over the merchant's
two connections (N/2 TikTok orders per connection; each is mirrored to Shopify, plus a few web
orders); the actual counts are read back from the scenario and recorded. For each tier:

1. ``python -m sandbox generate`` writes a scenario directory (timed: stage ``generate``);
2. ``python -m sandbox serve --scenario DIR --store auto --unthrottled`` serves it in its own
   process (big entities read from disk; no TikTok QPS limit, no Shopify cost bucket: the local
   stack is measured, not the platforms' quotas, which ``bench/bench_pacing.py`` measures);
3. each stage runs as its own subprocess on a fresh warehouse: ``shoptok extract``
   (``--tiktok-qps 0``: no client pacing either; ``--workers 2``: two sources extract and
   normalize at once, loads one at a time), ``shoptok transform``, ``shoptok quality``;
   wall time and the peak RSS of the stage's process tree are measured (``bench.common``);
4. ``pipeline`` = the three stages back to back (sum of wall times, max of peak RSS).

One JSON line per tier × stage goes to ``bench/results/scale.jsonl`` with the machine
description, load averages before/after (the machine is shared), the exact command and rows/s.
Targets at 1m: whole pipeline ≤ 600 s, peak RSS ≤ 4 GiB.

Then, unless skipped, part C's ``bench_incremental`` and ``bench_dbt_overhead`` and the API
pacing benchmark (``bench_pacing``) run, each through its own ``main(argv)``. With the 1m tier,
the first two start from the 1m tier's full load (``bench_incremental --reuse-full-load``:
restart the sandbox on the same scenario, change 1%, run incrementally; ``bench_dbt_overhead
--warehouse``: a copy of that warehouse) rather than loading a million orders again.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PYTHON, RESULTS, ROOT, SHOPTOK, StageRun, machine, now_iso, run_stage, tree_rss, write_result  # noqa: E402

console = Console()

TIERS = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
AS_OF = "2026-11-20T12:00:00Z"
#: targets at the 1m tier (issue 8)
TARGET_PIPELINE_S = 600
TARGET_RSS_BYTES = 4 * 1024**3
#: share of TikTok orders the generator mirrors to Shopify (the rest are drift: missing on Shopify)
MIRROR_SHARE = 0.965
#: free text recorded with every row of this run (``--note``)
NOTE = ""


def tier_params(n: int) -> dict[str, int]:
    """Generator sizes for ≈ n orders per channel over two connections."""
    per_conn = n // 2
    web = max(0, round(per_conn * (1 - MIRROR_SHARE)))
    return {"orders": per_conn, "web_orders": web, "products": max(120, per_conn // 100)}


def count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def scenario_counts(scenario: Path) -> dict[str, int]:
    """Orders per channel actually generated (lines of each connection's orders.jsonl)."""
    out = {"tiktok_orders": 0, "shopify_orders": 0}
    for conn in sorted(p for p in scenario.iterdir() if p.is_dir()):
        for platform, key in (("tiktok_shop", "tiktok_orders"), ("shopify", "shopify_orders")):
            f = conn / platform / "orders.jsonl"
            if f.exists():
                out[key] += count_lines(f)
    return out


def warehouse_rows(warehouse: Path) -> dict[str, int]:
    """Rows per schema (raw_*, marts, …) of the warehouse after a stage, in a short-lived read-only connection.

    dlt's ``*_staging`` schemas (the last load's rows, kept for the merge) are left out: counting
    them made a first load's "raw rows" half again too big."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_name not like '\\_dlt%' escape '\\' "
            "and table_schema not like '%\\_staging' escape '\\'"
        ).fetchall()
        out: dict[str, int] = {}
        for schema, table in tables:
            n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            out[schema] = out.get(schema, 0) + n
        return out
    finally:
        con.close()


class Sandbox:
    """``python -m sandbox serve --scenario DIR`` in its own process, unthrottled."""

    def __init__(self, scenario: Path, log_path: Path) -> None:
        self.scenario = scenario
        self.log_path = log_path
        self.ready = log_path.with_suffix(".ready.json")
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.start_s = 0.0

    def start(self, timeout_s: float = 3600) -> Sandbox:
        self.ready.unlink(missing_ok=True)
        cmd = [PYTHON, "-m", "sandbox", "serve", "--scenario", str(self.scenario), "--port", "0", "--quiet"]
        cmd += ["--ready-file", str(self.ready), "--store", "auto", "--unthrottled"]
        started = time.perf_counter()
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        while not self.ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited {self.proc.returncode}; see {self.log_path}")
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"sandbox not ready after {timeout_s} s; see {self.log_path}")
            time.sleep(0.2)
        self.start_s = round(time.perf_counter() - started, 2)
        self.base_url = json.loads(self.ready.read_text())["base_url"]
        deadline = time.monotonic() + 120
        while True:  # the ready file can land before the socket accepts
            try:
                httpx.get(f"{self.base_url}/_sandbox/health", timeout=10).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self

    def rss(self) -> int:
        return tree_rss(self.proc.pid) if self.proc else 0

    def counters(self) -> dict[str, Any]:
        try:
            return httpx.get(f"{self.base_url}/_sandbox/counters", timeout=30).json()
        except httpx.HTTPError:
            return {}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


def _row(tier: str, n: int, stage: str, run: StageRun | None, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"bench": "scale", "at": now_iso(), "tier": tier, "orders_per_channel_target": n}
    row["stage"] = stage
    if NOTE:
        row["note"] = NOTE
    if run is not None:
        row.update(
            wall_s=run.wall_s,
            cpu_s=run.cpu_s,
            peak_rss_mib=run.peak_rss_mib,
            returncode=run.returncode,
            command=run.command,
            load_before=run.load_before,
            load_after=run.load_after,
        )
    row.update(fields)
    return row


def _rate(n: int, seconds: float) -> float | None:
    return round(n / seconds, 1) if seconds > 0 else None


def run_tier(tier: str, args: argparse.Namespace, mach: dict[str, Any]) -> list[dict[str, Any]]:
    n = TIERS[tier]
    work = args.work / tier
    if work.exists() and not args.reuse_scenario:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    scenario = work / "scenario"
    rows: list[dict[str, Any]] = []
    params = tier_params(n)

    def emit(row: dict[str, Any]) -> None:
        row["machine"] = mach
        rows.append(row)
        write_result(args.out, row)

    console.rule(f"[bold]tier {tier}[/bold] ({n:,} orders per channel)")
    if not (args.reuse_scenario and (scenario / "manifest.json").exists()):
        cmd = [PYTHON, "-m", "sandbox", "generate", "--out", str(scenario), "--as-of", AS_OF]
        cmd += ["--tiktok-orders-per-connection", str(params["orders"])]
        cmd += ["--web-orders-per-connection", str(params["web_orders"])]
        cmd += ["--products", str(params["products"]), "--jobs", "2", *shlex.split(args.generate_args)]
        with console.status(f"generating the merchant ({shlex.join(cmd[3:])})"):
            gen = run_stage(cmd, log_path=work / "generate.log")
        if gen.returncode != 0:
            console.print(f"[red]generate failed[/red] ({gen.returncode}):\n{gen.output_tail}")
            emit(_row(tier, n, "generate", gen, ok=False))
            return rows
        size = sum(p.stat().st_size for p in scenario.rglob("*") if p.is_file())
        counts = scenario_counts(scenario)
        emit(_row(tier, n, "generate", gen, ok=True, params=params, scenario_mb=round(size / 1e6, 1), **counts))
        console.print(f"generated in {gen.wall_s:.1f} s, peak {gen.peak_rss_mib:,.0f} MiB: {counts}")
    counts = scenario_counts(scenario)
    orders = counts["tiktok_orders"] + counts["shopify_orders"]

    sandbox = Sandbox(scenario, work / "sandbox.log")
    with console.status("starting the sandbox (loading the scenario)"):
        sandbox.start()
    rss_mib = sandbox.rss() / 2**20
    console.print(f"sandbox at {sandbox.base_url}, ready in {sandbox.start_s:.1f} s, RSS {rss_mib:,.0f} MiB")
    warehouse = work / "warehouse.duckdb"
    if not args.reuse_warehouse:
        for stale in (warehouse, work / "warehouse.duckdb.wal"):
            stale.unlink(missing_ok=True)
        shutil.rmtree(work / "home", ignore_errors=True)
    env = {**os.environ, "SHOPTOK_HOME": str(work / "home"), "SHOPTOK_WAREHOUSE": str(warehouse)}
    env.pop("SHOPTOK_CONNECTIONS_FILE", None)
    stages = [
        ("extract", [SHOPTOK, "extract", "--sandbox-url", sandbox.base_url, "--warehouse", str(warehouse)]),
        ("transform", [SHOPTOK, "transform", "--warehouse", str(warehouse), "--as-of", AS_OF]),
        ("quality", [SHOPTOK, "quality", "--warehouse", str(warehouse), "--as-of", AS_OF]),
    ]
    if args.tiktok_qps is not None:
        stages[0][1].extend(["--tiktok-qps", str(args.tiktok_qps)])
    stages[0][1].extend(["--workers", str(args.extract_workers)])
    done: list[tuple[str, StageRun]] = []
    peak_sandbox = 0
    try:
        for stage, cmd in stages:
            if stage not in args.stages:
                continue
            with console.status(f"{stage}: {shlex.join(cmd[1:])}"):
                run = run_stage(cmd, env=env, log_path=work / f"{stage}.log", timeout_s=args.stage_timeout)
            peak_sandbox = max(peak_sandbox, sandbox.rss())
            counts_after = warehouse_rows(warehouse) if warehouse.exists() else {}
            raw_rows = sum(v for k, v in counts_after.items() if k.startswith("raw_"))
            model_rows = sum(v for k, v in counts_after.items() if not k.startswith("raw_"))
            fields: dict[str, Any] = {
                "ok": run.returncode == 0,
                **counts,
                # a stage that did not finish has no rate (its wall time is only how long it ran)
                "orders_per_s": _rate(orders, run.wall_s) if run.returncode in (0, 1) else None,
                "raw_rows": raw_rows,
            }
            if stage == "extract":
                fields["raw_rows_per_s"] = _rate(raw_rows, run.wall_s)
                fields["sandbox_counters"] = {
                    k: v for k, v in sandbox.counters().items() if k in ("shopify.requests", "tiktok.requests")
                }
            if stage == "transform":
                fields["model_rows"] = model_rows
                fields["raw_rows_per_s"] = _rate(raw_rows, run.wall_s)
            if stage == "quality":
                fields["raw_and_model_rows_per_s"] = _rate(raw_rows + model_rows, run.wall_s)
                fields["exit_note"] = "exit 1 = a blocking check failed (the run itself completed)"
            emit(_row(tier, n, stage, run, **fields))
            done.append((stage, run))
            colour = "green" if run.returncode == 0 else "red"
            console.print(
                f"[{colour}]{stage}[/{colour}] {run.wall_s:8.1f} s  peak {run.peak_rss_mib:8,.0f} MiB  "
                f"{_rate(orders, run.wall_s) or 0:10,.0f} orders/s  exit {run.returncode}  (log: {work / stage}.log)"
            )
            if run.returncode != 0 and stage != "quality":
                console.print(f"[red]{stage} failed[/red]:\n{run.output_tail[-2000:]}")
                break
    finally:
        sandbox.stop()
    if [s for s, _ in done] == ["extract", "transform", "quality"]:
        wall = round(sum(r.wall_s for _, r in done), 2)
        peak = max(r.peak_rss_bytes for _, r in done)
        row = _row(
            tier,
            n,
            "pipeline",
            None,
            wall_s=wall,
            cpu_s=round(sum(r.cpu_s or 0 for _, r in done), 2),
            peak_rss_mib=round(peak / 2**20, 1),
            ok=all(r.returncode == 0 for _, r in done),
            stages=[s for s, _ in done],
            **counts,
            orders_per_s=_rate(orders, wall) if all(r.returncode in (0, 1) for _, r in done) else None,
            command=" && ".join(r.command for _, r in done),
            load_before=done[0][1].load_before,
            load_after=done[-1][1].load_after,
            sandbox_peak_rss_mib=round(peak_sandbox / 2**20, 1),
            sandbox_start_s=sandbox.start_s,
        )
        if tier == "1m" and not row["ok"]:
            row["targets"] = "not measured: a stage did not finish"
        elif tier == "1m":
            row["targets"] = {
                "pipeline_s<=600": wall <= TARGET_PIPELINE_S,
                "peak_rss<=4GiB": peak <= TARGET_RSS_BYTES,
            }
        emit(row)
    if not (args.keep or _followed_up(tier, args)):
        _clean_tier(work, args)
    return rows


def _followed_up(tier: str, args: argparse.Namespace) -> bool:
    """Whether the 1m tier's warehouse feeds the incremental and dbt-overhead benchmarks (see ``main``)."""
    return tier == "1m" and not (args.skip_incremental and args.skip_overhead)


def _clean_tier(work: Path, args: argparse.Namespace) -> None:
    shutil.rmtree(work / "home", ignore_errors=True)
    (work / "warehouse.duckdb").unlink(missing_ok=True)
    if not args.reuse_scenario:
        shutil.rmtree(work / "scenario", ignore_errors=True)


def results_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="scale series")
    for col in ("tier", "stage", "TikTok orders", "Shopify orders", "wall s", "peak RSS MiB", "orders/s", "ok"):
        table.add_column(col, justify="left" if col in ("tier", "stage") else "right")
    for r in rows:
        table.add_row(
            r["tier"],
            r["stage"],
            f"{r.get('tiktok_orders', 0):,}",
            f"{r.get('shopify_orders', 0):,}",
            f"{r.get('wall_s', 0):,.1f}",
            f"{r.get('peak_rss_mib', 0):,.0f}",
            f"{r.get('orders_per_s') or 0:,.0f}",
            "yes" if r.get("ok") else "[red]no[/red]",
        )
    return table


def markdown(path: Path, since: str | None = None) -> str:
    """The results file as a Markdown table (docs/benchmarks.md), newest run of each tier × stage last."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("bench") == "scale" and (since is None or r["at"] >= since)]
    out = [
        "| tier | stage | TikTok / Shopify orders | wall s | CPU s | peak RSS MiB | orders/s | raw rows | ok "
        "| load avg before → after | at | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        load = f"{(r.get('load_before') or ['?'])[0]} → {(r.get('load_after') or ['?'])[0]}"
        orders = f"{r.get('tiktok_orders', 0):,} / {r.get('shopify_orders', 0):,}"
        unfinished = r.get("returncode") not in (None, 0, 1) or (r["stage"] == "pipeline" and len(r["stages"]) < 3)
        rate = "— (did not finish)" if unfinished else (r.get("orders_per_s") or "")
        out.append(
            f"| {r['tier']} | {r['stage']} | {orders} | {r.get('wall_s', '')} | {r.get('cpu_s') or ''} "
            f"| {r.get('peak_rss_mib', '')} | {rate} | {r.get('raw_rows') or ''} "
            f"| {'yes' if r.get('ok') else 'no'} | {load} | {r['at'][11:16]} | {r['machine'].get('git_commit')} |"
        )
    return "\n".join(out)


def _call_main(script: str, argv: list[str]) -> int | None:
    """Run ``bench/<script>.py``'s ``main(argv)`` if the script exists (None when it does not)."""
    path = Path(__file__).resolve().parent / f"{script}.py"
    if not path.exists():
        console.print(f"[yellow]{path.name} not found: skipped[/yellow]")
        return None
    spec = importlib.util.spec_from_file_location(f"bench_{script}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    console.rule(f"[bold]{path.name}[/bold] {shlex.join(argv)}")
    return module.main(argv)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tiers", nargs="+", choices=list(TIERS), default=["10k", "100k"], help="tiers to run, in order")
    ap.add_argument(
        "--stages",
        nargs="+",
        choices=["extract", "transform", "quality"],
        default=["extract", "transform", "quality"],
        help="stages to time (each needs the ones before it on the same warehouse)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.jsonl", help="JSON-lines results file (appended)")
    ap.add_argument(
        "--work", type=Path, default=ROOT / "var" / "bench", help="scratch folder: scenarios, warehouses, logs"
    )
    ap.add_argument("--keep", action="store_true", help="keep each tier's warehouse and scenario for inspection")
    ap.add_argument("--reuse-scenario", action="store_true", help="reuse a scenario left by an earlier --keep run")
    ap.add_argument(
        "--reuse-warehouse",
        action="store_true",
        help="keep the warehouse and dlt state an earlier --keep run left (to time later --stages again, "
        "e.g. `--stages quality` after a change to the checks); no pipeline row is written",
    )
    ap.add_argument("--generate-args", default="", help="extra flags for `python -m sandbox generate` (one string)")
    ap.add_argument(
        "--tiktok-qps",
        type=float,
        default=0,
        help="client-side TikTok pacing during the scale series (default 0: off; the sandbox is unthrottled too)",
    )
    ap.add_argument(
        "--extract-workers", type=int, default=2, help="`shoptok extract --workers`: sources extracted at once"
    )
    ap.add_argument("--stage-timeout", type=float, default=3 * 3600, help="seconds before a stage is killed")
    ap.add_argument(
        "--markdown",
        nargs="?",
        const="",
        default=None,
        metavar="SINCE",
        help="print the results file as a Markdown table (rows at or after the ISO time SINCE) and exit",
    )
    ap.add_argument("--note", default="", help="free text stored with every result row of this run")
    ap.add_argument("--skip-incremental", action="store_true", help="do not run bench/bench_incremental.py")
    ap.add_argument("--skip-overhead", action="store_true", help="do not run bench/bench_dbt_overhead.py")
    ap.add_argument("--skip-pacing", action="store_true", help="do not run bench/bench_pacing.py")
    ap.add_argument("--skip-scale", action="store_true", help="only the incremental / overhead / pacing benchmarks")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.markdown is not None:
        print(markdown(args.out, args.markdown or None))
        return 0
    global NOTE
    NOTE = args.note
    mach = machine()
    console.print(
        f"machine: {mach['cores']} cores, {mach['ram_gib']} GiB, {mach['cpu']}, Python {mach['python']}, "
        f"commit {mach['git_commit']}; results → {args.out}"
    )
    rows: list[dict[str, Any]] = []
    failed = 0
    if not args.skip_scale:
        for tier in args.tiers:
            tier_rows = run_tier(tier, args, mach)
            rows.extend(tier_rows)
            failed += sum(1 for r in tier_rows if not r.get("ok") and r["stage"] not in ("quality", "pipeline"))
        console.print(results_table(rows))
    # with the 1m tier, the incremental and overhead benchmarks start from its full load (loading
    # a million orders again would double the run); otherwise they use their own 10k merchant
    big = "1m" in args.tiers and not args.skip_scale and (args.work / "1m" / "warehouse.duckdb").exists()
    incremental_args = ["--tier", "1m", "--work", str(args.work), "--reuse-full-load", "--keep"] if big else []
    overhead_args = ["--warehouse", str(args.work / "1m" / "warehouse.duckdb")] if big else []
    for script, skip, script_args in (
        ("bench_incremental", args.skip_incremental, incremental_args),
        ("bench_dbt_overhead", args.skip_overhead, overhead_args),
        ("bench_pacing", args.skip_pacing, []),
    ):
        if not skip:
            rc = _call_main(script, script_args)
            failed += 1 if rc else 0
    if big and not args.keep:
        _clean_tier(args.work / "1m", args)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
