"""dbt overhead: the project's compiled SQL run raw in DuckDB vs ``dbt run`` / ``dbt build`` on the same data.

    .venv/bin/python bench/bench_dbt_overhead.py [--warehouse PATH | --tier 10k|100k|1m]

With ``--warehouse`` the given (extracted) warehouse is used; otherwise the tier's merchant is
generated, served unthrottled and extracted first (``bench/run.py``'s helpers). Every measurement
starts from the same state: a copy of the warehouse with the raw data and the seeds, and without
any model (so incremental models build in full, as in a first load).

* raw: ``dbt compile`` once (untimed), then each model's compiled SQL executed in DAG order as
  ``CREATE OR REPLACE TABLE|VIEW … AS …`` on one DuckDB connection; then, separately, each data
  test's compiled query (``select count(*) from (<test>)``), the work ``dbt build`` adds.
* dbt: ``dbt run`` and ``dbt build`` (wall time of the whole command, process start included),
  with each node's time from ``run_results.json``.

Ratios reported: dbt run ÷ raw models, dbt build ÷ raw models (the issue's ratio; target ≤ 1.5),
dbt build ÷ (raw models + raw tests) (like for like). One JSON line per run goes to
``bench/results/dbt_overhead.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, RESULTS, ROOT, SHOPTOK, load_average, machine, now_iso, run_stage, write_result  # noqa: E402
from run import AS_OF, TIERS, Sandbox, tier_params  # noqa: E402

DBT = str(ROOT / ".venv" / "bin" / "dbt")
PROJECT = ROOT / "dbt_project"
OUT = RESULTS / "dbt_overhead.jsonl"
TARGET_RATIO = 1.5
#: schemas dbt writes (models, state of incremental models); seeds (config) and raw data stay
MODEL_SCHEMAS = ("staging", "intermediate", "marts", "incremental_state")


#: order-level raw tables and the id columns a clone suffixes (products, SKUs, statements are shared)
ORDER_TABLES = {
    "raw_shopify": (
        "orders",
        "order_line_items",
        "order_transactions",
        "order_fulfillments",
        "order_fulfillment_orders",
        "order_fulfillment_order_line_items",
        "order_refunds",
        "order_refund_line_items",
        "order_refund_shipping_lines",
        "order_refund_transactions",
    ),
    "raw_tiktok_shop": (
        "orders",
        "order_line_items",
        "returns",
        "return_line_items",
        "cancellations",
        "cancellation_line_items",
        "statement_transactions",
    ),
}
ID_COLUMNS = {
    "id",
    "order_id",
    "refund_id",
    "line_item_id",
    "fulfillment_order_id",
    "return_id",
    "cancel_id",
    "return_line_item_id",
    "cancel_line_item_id",
    "order_line_item_id",
    "source_identifier",
    "name",
    "package_id",
    "adjustment_order_id",
    "_dlt_id",
}


def scale_raw(warehouse: Path, factor: int) -> None:
    """Clone every order-level raw row ``factor - 1`` times with ids suffixed ``-k``.

    A stand-in for a generated merchant of ``factor`` times the size when only the dbt side is
    measured: links (source identifier, custom attribute, tag) and refund notes are rewritten
    with the same suffix, so clones reconcile like their originals.
    """
    con = duckdb.connect(str(warehouse))
    try:
        for schema, tables in ORDER_TABLES.items():
            for table in tables:
                cols = con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                    "order by column_index",
                    [schema, table],
                ).fetchall()
                exprs = []
                for (col,) in cols:
                    q = f'"{col}"'
                    if col in ID_COLUMNS:
                        exprs.append(f"case when coalesce({q}, '') = '' then {q} else {q} || '-' || r.k end")
                    elif schema == "raw_shopify" and col == "tags":
                        exprs.append(f"regexp_replace({q}, '(tiktok_order:[0-9A-Za-z]+)', '\\1-' || r.k, 'g')")
                    elif col == "custom_attributes":
                        exprs.append(f"regexp_replace({q}, '(\"value\":\"[^\"]+)\"', '\\1-' || r.k || '\"', 'g')")
                    elif col == "note":
                        exprs.append(f"regexp_replace({q}, '([0-9]{{12,}})', '\\1-' || r.k, 'g')")
                    else:
                        exprs.append(q)
                con.execute(f"create temp table base as select * from {schema}.{table}")
                con.execute(
                    f"insert into {schema}.{table} select {', '.join(exprs)} "
                    f"from base, (select cast(range as varchar) as k from range(1, {factor})) as r"
                )
                con.execute("drop table base")
        con.execute("checkpoint")
    finally:
        con.close()


def dbt_vars() -> str:
    return json.dumps({"as_of": AS_OF.removesuffix("Z")})


def fresh_copy(source: Path, dest: Path) -> Path:
    """A copy of the warehouse without any model: the state a first full build starts from.

    Every measurement uses the same path (one after the other): DuckDB names the catalog after
    the file and the compiled SQL names it; and dbt's partial parsing (kept in the one target
    folder) is reused only while the profile, which holds the path, is unchanged, as in a
    scheduled run. Only `dbt compile`, untimed, parses the project from scratch.
    """
    dest = dest / "warehouse.duckdb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    shutil.copy(source, dest)
    con = duckdb.connect(str(dest))
    try:
        for schema in MODEL_SCHEMAS:
            con.execute(f"drop schema if exists {schema} cascade")
        con.execute("checkpoint")
    finally:
        con.close()
    return dest


def dbt_cmd(args: list[str], warehouse: Path, target: Path) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "SHOPTOK_WAREHOUSE": str(warehouse.resolve()), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [DBT, *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    cmd += ["--target-path", str(target), "--vars", dbt_vars()]
    return cmd, env


def compiled_nodes(target: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Models in DAG order and data tests, from the compiled manifest."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    graph = {uid: [d for d in n["depends_on"]["nodes"] if d in models] for uid, n in models.items()}
    ordered = [models[uid] for uid in TopologicalSorter(graph).static_order()]
    tests = [n for n in nodes.values() if n["resource_type"] == "test" and n.get("compiled_code")]
    return ordered, tests


def run_raw(warehouse: Path, models: list[dict[str, Any]], tests: list[dict[str, Any]]) -> dict[str, Any]:
    """Execute the compiled SQL on one connection, as dbt's statements would, without dbt."""
    per_model: dict[str, float] = {}
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set TimeZone = 'UTC'")
        for node in models:
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            relation = f'"{node["schema"]}"."{node["alias"]}"'
            t0 = time.perf_counter()
            con.execute(f'create schema if not exists "{node["schema"]}"')
            con.execute(f"create or replace {kind} {relation} as (\n{node['compiled_code']}\n)")
            per_model[node["name"]] = round(time.perf_counter() - t0, 3)
        models_s = time.perf_counter() - started
        t1 = time.perf_counter()
        failing = 0
        for node in tests:
            failing += 1 if con.execute(f"select count(*) from ({node['compiled_code']}) as t").fetchone()[0] else 0
        tests_s = time.perf_counter() - t1
    finally:
        con.close()
    slowest = dict(sorted(per_model.items(), key=lambda kv: -kv[1])[:10])
    return {
        "models_s": round(models_s, 2),
        "tests_s": round(tests_s, 2),
        "models": len(models),
        "tests": len(tests),
        "tests_failing": failing,
        "slowest_models_s": slowest,
    }


def dbt_timings(target: Path) -> dict[str, Any]:
    results = json.loads((target / "run_results.json").read_text())
    by_kind: dict[str, float] = {}
    slowest = []
    for r in results["results"]:
        kind = r["unique_id"].split(".", 1)[0]
        by_kind[kind] = round(by_kind.get(kind, 0.0) + r["execution_time"], 2)
        slowest.append((r["unique_id"].split(".")[-1] if kind == "model" else r["unique_id"], r["execution_time"]))
    slowest.sort(key=lambda kv: -kv[1])
    return {
        "dbt_elapsed_s": round(results["elapsed_time"], 2),
        "node_s_by_kind": by_kind,
        "nodes": len(results["results"]),
        "slowest_nodes_s": {k: round(v, 2) for k, v in slowest[:10]},
    }


def extracted_warehouse(tier: str, work: Path) -> Path:
    """Generate, serve and extract the tier's merchant (no dbt): the data both sides build from."""
    scenario, warehouse = work / "scenario", work / "extracted.duckdb"
    params = tier_params(TIERS[tier])
    cmd = [PYTHON, "-m", "sandbox", "generate", "--out", str(scenario), "--as-of", AS_OF]
    cmd += ["--orders", str(params["orders"]), "--web-orders", str(params["web_orders"])]
    cmd += ["--products", str(params["products"])]
    gen = run_stage(cmd, log_path=work / "generate.log")
    if gen.returncode != 0:
        raise RuntimeError(f"generate failed: {gen.output_tail[-1500:]}")
    env = {**os.environ, "SHOPTOK_HOME": str(work / "home"), "SHOPTOK_WAREHOUSE": str(warehouse)}
    env.pop("SHOPTOK_CONNECTIONS_FILE", None)
    sandbox = Sandbox(scenario, work / "sandbox.log").start()
    try:
        cmd = [SHOPTOK, "extract", "--sandbox-url", sandbox.base_url, "--warehouse", str(warehouse)]
        run = run_stage(cmd, env=env, log_path=work / "extract.log")
    finally:
        sandbox.stop()
    if run.returncode != 0:
        raise RuntimeError(f"extract failed: {run.output_tail[-1500:]}")
    # seeds once, so every measured copy starts with them
    seed_cmd, seed_env = dbt_cmd(["seed"], warehouse, work / "target_seed")
    subprocess.run(seed_cmd, env=seed_env, check=True, capture_output=True)
    return warehouse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/bench_dbt_overhead.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, help="an extracted warehouse (raw data + seeds); copied, never changed")
    ap.add_argument("--tier", choices=list(TIERS), default="10k", help="merchant to extract when no --warehouse")
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "bench_dbt_overhead")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--scale-raw",
        type=int,
        default=1,
        help="clone the order-level raw rows this many times (ids suffixed) before measuring",
    )
    ap.add_argument("--keep", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = args.warehouse or extracted_warehouse(args.tier, work)
    if args.scale_raw > 1:
        scaled = work / "scaled" / "warehouse.duckdb"
        scaled.parent.mkdir(parents=True)
        shutil.copy(source, scaled)
        scale_raw(scaled, args.scale_raw)
        source = scaled
    load_before = load_average()

    # compile on a model-free copy, so incremental models compile to their full-build SQL
    compile_wh = fresh_copy(source, work / "wh")
    cmd, env = dbt_cmd(["compile"], compile_wh, work / "target")
    compiled = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if compiled.returncode != 0:
        print(compiled.stdout[-3000:], file=sys.stderr)
        return 1
    models, tests = compiled_nodes(work / "target")

    raw = run_raw(fresh_copy(source, work / "wh"), models, tests)
    measured: dict[str, Any] = {}
    for verb in ("run", "build"):
        wh = fresh_copy(source, work / "wh")
        cmd, env = dbt_cmd([verb], wh, work / "target")
        stage = run_stage(cmd, env=env, cwd=PROJECT, log_path=work / f"dbt_{verb}.log")
        if stage.returncode != 0:
            print(stage.output_tail[-3000:], file=sys.stderr)
            return 1
        measured[verb] = {
            "wall_s": stage.wall_s,
            "peak_rss_mib": stage.peak_rss_mib,
            **dbt_timings(work / "target"),
        }
        measured[verb]["command"] = shlex.join(cmd)

    raw_models, raw_all = raw["models_s"], raw["models_s"] + raw["tests_s"]
    row = {
        "bench": "dbt_overhead",
        "at": now_iso(),
        "warehouse": str(args.warehouse) if args.warehouse else f"tier {args.tier}",
        "scale_raw": args.scale_raw,
        "raw_tiktok_orders": _count(source, "raw_tiktok_shop.orders"),
        "raw_shopify_orders": _count(source, "raw_shopify.orders"),
        "raw": raw,
        "dbt_run": measured["run"],
        "dbt_build": measured["build"],
        "ratio_run_vs_raw_models": round(measured["run"]["wall_s"] / raw_models, 2),
        "ratio_build_vs_raw_models": round(measured["build"]["wall_s"] / raw_models, 2),
        "ratio_build_vs_raw_models_and_tests": round(measured["build"]["wall_s"] / raw_all, 2),
        "target_ratio": TARGET_RATIO,
        "load_before": load_before,
        "load_after": load_average(),
        "command": "bench/bench_dbt_overhead.py " + shlex.join(argv or []),
        "machine": machine(),
    }
    write_result(args.out, row)
    print(json.dumps({k: v for k, v in row.items() if k.startswith(("ratio", "raw_"))}, indent=1))
    print(
        json.dumps(
            {"raw_s": [raw["models_s"], raw["tests_s"]], **{k: v["wall_s"] for k, v in measured.items()}}, indent=1
        )
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _count(warehouse: Path, table: str) -> int | None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    except duckdb.Error:
        return None
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(main())
