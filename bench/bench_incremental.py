"""Incremental pipeline benchmark: full load, change 1% of the orders, incremental extract + dbt build.

    .venv/bin/python bench/bench_incremental.py [--tier 10k|100k|1m] [--fraction 0.01]

1. generate the tier's merchant and serve it unthrottled (``bench/run.py``'s sandbox helper);
2. full load: ``shoptok extract`` then ``shoptok transform`` (dbt build), timed;
3. ``POST /_sandbox/mutate {"fraction": …}``: the sandbox moves that share of each connection's
   TikTok orders one step along their lifecycle (and their Shopify mirrors where the channel would);
4. incremental extract (same dlt state) and incremental ``shoptok transform``, timed;
5. proof of incrementality per model, from the warehouse and dbt's ``run_results.json``: the keys
   each incremental model recomputed (``incremental_state.<model>__keys``) against its row count,
   and each node's execution time. dbt-duckdb reports no ``rows_affected`` for models (its
   adapter response is just ``OK``), so the key tables are the row-level proof.

One JSON line per stage and one summary line go to ``bench/results/incremental.jsonl``.
Target at 1m + 1m: incremental extract + incremental dbt build ≤ 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, RESULTS, ROOT, SHOPTOK, StageRun, machine, now_iso, run_stage, write_result  # noqa: E402
from run import AS_OF, TIERS, Sandbox, tier_params  # noqa: E402

TARGET_S = 60.0
OUT = RESULTS / "incremental.jsonl"


def incremental_proof(warehouse: Path) -> dict[str, dict[str, Any]]:
    """Per incremental model: rows in the model and keys its last run recomputed."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = [
            (t,)
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'incremental_state'"
            ).fetchall()
            if t.endswith("__keys")
        ]
        where = dict(
            con.execute(
                "select table_name, schema_name from duckdb_tables() where schema_name in ('intermediate', 'marts')"
            ).fetchall()
        )
        out: dict[str, dict[str, Any]] = {}
        for (keys_table,) in found:
            model = keys_table.removesuffix("__keys")
            keys = con.execute(f'select count(*) from incremental_state."{keys_table}"').fetchone()[0]
            rows = 0
            if model in where:
                rows = con.execute(f'select count(*) from "{where[model]}"."{model}"').fetchone()[0]
            out[model] = {"rows": rows, "keys_recomputed": keys, "share": round(keys / rows, 4) if rows else None}
        return out
    finally:
        con.close()


def node_timings(target: Path) -> dict[str, Any]:
    """Execution time and adapter response per model from dbt's run_results.json."""
    path = target / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text())
    models = {}
    tests_s = 0.0
    for r in results["results"]:
        kind, _, name = r["unique_id"].partition(".")
        if kind == "model":
            models[name.split(".", 1)[1]] = {
                "s": round(r["execution_time"], 2),
                "rows_affected": r.get("adapter_response", {}).get("rows_affected"),
            }
        elif kind in ("test", "unit_test"):
            tests_s += r["execution_time"]
    return {
        "dbt_elapsed_s": round(results.get("elapsed_time", 0.0), 2),
        "tests_s": round(tests_s, 2),
        "models": dict(sorted(models.items(), key=lambda kv: -kv[1]["s"])),
    }


def _stage_row(tier: str, stage: str, run: StageRun, **fields: Any) -> dict[str, Any]:
    return {
        "bench": "incremental",
        "at": now_iso(),
        "tier": tier,
        "stage": stage,
        "wall_s": run.wall_s,
        "peak_rss_mib": run.peak_rss_mib,
        "returncode": run.returncode,
        "command": run.command,
        "load_before": run.load_before,
        "load_after": run.load_after,
        **fields,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/bench_incremental.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", choices=list(TIERS), default="10k")
    ap.add_argument("--fraction", type=float, default=0.01, help="share of TikTok orders the sandbox changes")
    ap.add_argument("--seed", type=int, default=7, help="which orders the sandbox changes")
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "bench_incremental")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the warehouse and scenario")
    ap.add_argument("--reuse-scenario", action="store_true", help="reuse a scenario left by an earlier --keep run")
    ap.add_argument(
        "--reuse-full-load",
        action="store_true",
        help="start from the warehouse and dlt state a `bench/run.py --keep` run left in the same --work/<tier> "
        "(the scale series' full load) instead of loading again; the sandbox restarts from the same scenario",
    )
    ap.add_argument("--stage-timeout", type=float, default=3 * 3600)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tier = args.tier
    work = args.work / tier
    scenario = work / "scenario"
    if work.exists() and not (args.reuse_scenario or args.reuse_full_load):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    mach = machine()
    rows: list[dict[str, Any]] = []

    def emit(row: dict[str, Any]) -> None:
        row["machine"] = mach
        rows.append(row)
        write_result(args.out, row)
        brief = {k: row[k] for k in ("stage", "wall_s", "peak_rss_mib", "returncode") if k in row}
        print(json.dumps(brief), flush=True)

    if not ((args.reuse_scenario or args.reuse_full_load) and (scenario / "manifest.json").exists()):
        params = tier_params(TIERS[tier])
        cmd = [PYTHON, "-m", "sandbox", "generate", "--out", str(scenario), "--as-of", AS_OF]
        cmd += ["--orders", str(params["orders"]), "--web-orders", str(params["web_orders"])]
        cmd += ["--products", str(params["products"])]
        gen = run_stage(cmd, log_path=work / "generate.log", timeout_s=args.stage_timeout)
        emit(_stage_row(tier, "generate", gen, params=params))
        if gen.returncode != 0:
            print(gen.output_tail[-2000:], file=sys.stderr)
            return 1

    warehouse = work / "warehouse.duckdb"
    reuse = args.reuse_full_load and warehouse.exists() and (work / "home").exists()
    if args.reuse_full_load and not reuse:
        print(f"--reuse-full-load: no warehouse and home under {work}; doing the full load here", file=sys.stderr)
    if not reuse:
        warehouse.unlink(missing_ok=True)
        shutil.rmtree(work / "home", ignore_errors=True)
    target = work / "dbt_target"
    env = {
        **os.environ,
        "SHOPTOK_HOME": str(work / "home"),
        "SHOPTOK_WAREHOUSE": str(warehouse),
        # dbt writes run_results.json here, not into the shared dbt_project/target
        "DBT_TARGET_PATH": str(target),
    }
    env.pop("SHOPTOK_CONNECTIONS_FILE", None)
    sandbox = Sandbox(scenario, work / "sandbox.log").start()
    failed = False
    try:
        extract = [SHOPTOK, "extract", "--sandbox-url", sandbox.base_url, "--warehouse", str(warehouse)]
        transform = [SHOPTOK, "transform", "--warehouse", str(warehouse), "--as-of", AS_OF]
        timed: dict[str, float] = {}
        plan = [
            ("full_extract", extract),
            ("full_transform", transform),
            ("mutate", None),
            ("incremental_extract", extract),
            ("incremental_transform", transform),
        ]
        for stage, cmd in plan[2:] if reuse else plan:
            if cmd is None:
                started = time.perf_counter()
                body = {"fraction": args.fraction, "seed": args.seed}
                resp = httpx.post(f"{sandbox.base_url}/_sandbox/mutate", json=body, timeout=600)
                wall = round(time.perf_counter() - started, 2)
                ok = resp.status_code == 200
                row = {"bench": "incremental", "at": now_iso(), "tier": tier, "stage": "mutate", "wall_s": wall}
                row.update(fraction=args.fraction, ok=ok, response=resp.json() if ok else resp.text[:500])
                emit(row)
                if not ok:
                    failed = True
                    break
                continue
            run = run_stage(cmd, env=env, log_path=work / f"{stage}.log", timeout_s=args.stage_timeout)
            fields: dict[str, Any] = {"ok": run.returncode == 0}
            if stage.endswith("transform"):
                fields.update(node_timings(target))
                fields["incremental_models"] = incremental_proof(warehouse)
            emit(_stage_row(tier, stage, run, **fields))
            timed[stage] = run.wall_s
            if run.returncode != 0:
                print(run.output_tail[-2000:], file=sys.stderr)
                failed = True
                break
    finally:
        sandbox.stop()
    if not failed:
        end_to_end = round(timed["incremental_extract"] + timed["incremental_transform"], 2)
        emit(
            {
                "bench": "incremental",
                "at": now_iso(),
                "tier": tier,
                "stage": "summary",
                "fraction": args.fraction,
                "full_load_s": None if reuse else round(timed["full_extract"] + timed["full_transform"], 2),
                "full_load": "the scale series' own (bench/run.py, same --work)" if reuse else "this run",
                "incremental_s": end_to_end,
                "target_s": TARGET_S,
                "target_met": end_to_end <= TARGET_S,
                "command": "bench/bench_incremental.py " + shlex.join(argv or []),
            }
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
