"""The crash matrix: ``kill -9`` at seeded points in each stage, rerun, compare with a clean run.

Stages and what a point can be (tests/support/crash_points.py draws them, tests/support/
crash_runner.py runs each stage in a child that SIGKILLs itself, or is killed, at the point):

* extraction: the n-th HTTP response, the n-th dlt page / normalize / load-job commit / package
  completion, or a random delay after the child started;
* ``dbt build``: the moment the n-th node starts, on a first build and on a rebuild;
* Great Expectations: the n-th suite starting to validate, or after Data Docs and before the
  row-count history is written;
* repair (writeback): before the n-th API write, after it (the platform applied it, the ledger
  has not heard), or right after the n-th outcome row was written.

After the crash the same stage runs again, cleanly. Then: the warehouse equals the clean run's,
table by table, row by row (tests/support/warehouse_hash.py names the only columns left out);
GX gives the same verdicts; and the repairs were applied exactly once: the sandbox's write
counters equal a clean run's, its merchant state is byte-identical, and the ledger holds every
action as applied or skipped. Each clean run happens once per module (the baselines).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.run import run_extract
from orchestration.defs.writeback.engine import apply_actions
from sandbox.state import export_state
from tests.support.crash_points import CrashPoint, points
from tests.support.crash_runner import kill_dbt_at_node, outcome_report, run_child
from tests.support.warehouse_hash import (
    DBT_SCHEMAS,
    RAW_SCHEMAS,
    differing,
    duplicate_keys,
    row_delta,
    table_fingerprints,
)
from tests.writeback.support import connections_for

pytestmark = pytest.mark.slow
KILLED = -9


def _ids(p: CrashPoint) -> str:
    return p.id


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class ExtractBaseline:
    counts: dict[str, int]
    fingerprints: dict[str, str]
    seconds: float
    warehouse: Path


@pytest.fixture(scope="module")
def extract_sandbox(new_sandbox):
    """Extraction only reads, so every extraction point shares one sandbox."""
    with new_sandbox() as srv:
        yield srv


def _extract_spec(url: str, root: Path) -> dict[str, Any]:
    return {
        "stage": "extract",
        "url": url,
        "warehouse": str(root / "w.duckdb"),
        "pipelines": str(root / "dlt"),
        "report": str(root / "extract.json"),
    }


@pytest.fixture(scope="module")
def extract_baseline(extract_sandbox, tmp_path_factory) -> ExtractBaseline:
    root = tmp_path_factory.mktemp("extract_clean")
    spec = _extract_spec(extract_sandbox.base_url, root)
    started = time.monotonic()
    code, counts = run_child(spec)
    assert code == 0
    seconds = time.monotonic() - started
    return ExtractBaseline(counts, table_fingerprints(root / "w.duckdb", RAW_SCHEMAS), seconds, root / "w.duckdb")


@pytest.mark.parametrize("point", points("extract"), ids=_ids)
def test_extraction_killed_then_rerun_equals_a_clean_run(point, extract_sandbox, extract_baseline, tmp_path):
    spec = _extract_spec(extract_sandbox.base_url, tmp_path)
    child = point.child_point(extract_baseline.counts)
    # a delay is a fraction of the clean run's wall time, kept short of its end so the kill lands
    delay = point.frac * 0.85 * extract_baseline.seconds if point.kind == "delay" else None
    print(f"{point.id}: child point {child}, delay {delay}")
    code, _ = run_child({**spec, "point": child}, kill_after_s=delay)
    assert code == KILLED, f"{point.id} was never reached (exit {code})"
    # the rerun is an ordinary extraction: in this process, which saves a child's imports
    run_extract(connections_for(extract_sandbox), warehouse=tmp_path / "w.duckdb", pipelines_dir=tmp_path / "dlt")
    after = table_fingerprints(tmp_path / "w.duckdb", RAW_SCHEMAS)
    lost, extra = row_delta(extract_baseline.fingerprints, after)
    assert not differing(extract_baseline.fingerprints, after), (
        f"{point.id}: {lost} rows lost, {extra} extra; tables differ: {differing(extract_baseline.fingerprints, after)}"
    )
    for table in ("raw_tiktok_shop.orders", "raw_shopify.orders"):
        assert duplicate_keys(tmp_path / "w.duckdb", table, ["connection_id", "id"]) == 0


# --------------------------------------------------------------------------- dbt build


#: the rerun after a killed build: every seed and model, not the data and unit tests, which write
#: nothing and which the clean build already passed on the tables this rerun must reproduce
REBUILD = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


@dataclass(frozen=True)
class DbtBaseline:
    nodes: int
    fingerprints: dict[str, str]
    warehouse: Path


@pytest.fixture(scope="module")
def dbt_baseline(extract_baseline, small_merchant, tmp_path_factory) -> DbtBaseline:
    warehouse = tmp_path_factory.mktemp("dbt_clean") / "w.duckdb"
    shutil.copy(extract_baseline.warehouse, warehouse)
    code, nodes, output = kill_dbt_at_node(["build"], warehouse=warehouse, as_of=small_merchant.as_of, node=None)
    assert code == 0, output[-4000:]
    return DbtBaseline(nodes, table_fingerprints(warehouse, RAW_SCHEMAS + DBT_SCHEMAS), warehouse)


@pytest.mark.parametrize("point", points("dbt"), ids=_ids)
def test_dbt_build_killed_then_rerun_equals_a_clean_build(
    point, extract_baseline, dbt_baseline, small_merchant, tmp_path
):
    warehouse = tmp_path / "w.duckdb"
    # a first build starts from the raw tables only; a rebuild from a warehouse already built once
    source = dbt_baseline.warehouse if point.kind == "node.rebuild" else extract_baseline.warehouse
    shutil.copy(source, warehouse)
    node = point.nth(dbt_baseline.nodes)
    print(f"{point.id}: kill when node {node} of {dbt_baseline.nodes} starts")
    code, _, output = kill_dbt_at_node(["build"], warehouse=warehouse, as_of=small_merchant.as_of, node=node)
    assert code == KILLED, f"{point.id} was never reached (exit {code}): {output[-2000:]}"
    code, _, output = kill_dbt_at_node(REBUILD, warehouse=warehouse, as_of=small_merchant.as_of, node=None)
    assert code == 0, output[-4000:]
    after = table_fingerprints(warehouse, RAW_SCHEMAS + DBT_SCHEMAS)
    lost, extra = row_delta(dbt_baseline.fingerprints, after)
    assert not differing(dbt_baseline.fingerprints, after), (
        f"{point.id}: {lost} rows lost, {extra} extra; tables differ: {differing(dbt_baseline.fingerprints, after)}"
    )


# --------------------------------------------------------------------------- Great Expectations


@dataclass(frozen=True)
class GxBaseline:
    counts: dict[str, int]
    outcomes: dict[str, Any]


def _gx_spec(warehouse: Path, as_of: Any, root: Path) -> dict[str, Any]:
    return {
        "stage": "gx",
        "warehouse": str(warehouse),
        "as_of": as_of.isoformat(),
        "docs_dir": str(root / "docs"),
        "history": str(root / "history.json"),
        "report": str(root / "gx.json"),
    }


def _verdicts(warehouse: Path, as_of: Any, root: Path) -> dict[str, Any]:
    """Every check run in this process (the same call the child makes), as the child reports them."""
    from expectations.checks import run_all

    outcomes = run_all(warehouse, as_of, docs_dir=root / "docs", history_path=root / "history.json")
    return json.loads(json.dumps(outcome_report(outcomes)))


@pytest.fixture(scope="module")
def gx_baseline(dbt_baseline, small_merchant, tmp_path_factory) -> GxBaseline:
    from expectations.checks import CHECKS

    outcomes = _verdicts(dbt_baseline.warehouse, small_merchant.as_of, tmp_path_factory.mktemp("gx_clean"))
    assert outcomes, "GX ran no check"
    return GxBaseline({"suite": len(CHECKS)}, outcomes)


@pytest.mark.parametrize("point", points("gx"), ids=_ids)
def test_gx_killed_then_rerun_gives_the_clean_verdicts(point, dbt_baseline, gx_baseline, small_merchant, tmp_path):
    spec = _gx_spec(dbt_baseline.warehouse, small_merchant.as_of, tmp_path)
    child = point.child_point(gx_baseline.counts)
    print(f"{point.id}: child point {child}")
    code, _ = run_child({**spec, "point": child})
    assert code == KILLED, f"{point.id} was never reached (exit {code})"
    got = _verdicts(dbt_baseline.warehouse, small_merchant.as_of, tmp_path)
    changed = {k: (v, got.get(k)) for k, v in gx_baseline.outcomes.items() if got.get(k) != v}
    assert not changed and set(got) == set(gx_baseline.outcomes), f"{point.id}: verdicts differ: {changed}"
    # the checks only read: the warehouse they ran on is unchanged
    assert table_fingerprints(dbt_baseline.warehouse, RAW_SCHEMAS + DBT_SCHEMAS) == dbt_baseline.fingerprints


# --------------------------------------------------------------------------- repair (writeback)

#: write counters of the sandbox that are API writes (bulkOperationRunQuery is the executors' re-read)
WRITE_PREFIXES = ("shopify.mutation.", "tiktok.writes.")


def api_writes(srv) -> dict[str, int]:
    return {
        k: v
        for k, v in srv.ctx.counters.snapshot().items()
        if k.startswith(WRITE_PREFIXES) and "bulkOperation" not in k and v
    }


def merchant_digest(srv, root: Path) -> str:
    """sha256 over the sandbox merchant exported as a scenario directory (every entity, every field)."""
    out = root / "merchant_export"
    shutil.rmtree(out, ignore_errors=True)
    export_state(srv.ctx.state, out)
    digest = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def ledger_statuses(warehouse: Path) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute("select action_id, status from ops.writeback_ledger").fetchall())
    finally:
        con.close()


@dataclass(frozen=True)
class RepairBaseline:
    counts: dict[str, int]
    writes: dict[str, int]
    statuses: dict[str, str]
    digest: str


def _repair_spec(url: str, warehouse: Path, as_of: Any, root: Path) -> dict[str, Any]:
    return {"stage": "repair", "url": url, "warehouse": str(warehouse), "as_of": as_of.isoformat(),
            "report": str(root / "repair.json")}  # fmt: skip


@pytest.fixture(scope="module")
def repair_baseline(dbt_baseline, new_sandbox, small_merchant, tmp_path_factory) -> RepairBaseline:
    root = tmp_path_factory.mktemp("repair_clean")
    warehouse = root / "w.duckdb"
    shutil.copy(dbt_baseline.warehouse, warehouse)
    with new_sandbox() as srv:
        code, report = run_child(_repair_spec(srv.base_url, warehouse, small_merchant.as_of, root))
        assert code == 0
        base = RepairBaseline(report["counts"], api_writes(srv), ledger_statuses(warehouse), merchant_digest(srv, root))
    assert base.counts.get("call.after", 0) >= 5, f"the plan is too small to crash inside: {report}"
    assert set(base.statuses.values()) == {"applied"}, base.statuses
    return base


@pytest.mark.parametrize("point", points("repair"), ids=_ids)
def test_repair_killed_then_rerun_applies_each_action_exactly_once(
    point, dbt_baseline, repair_baseline, new_sandbox, small_merchant, tmp_path
):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(dbt_baseline.warehouse, warehouse)
    with new_sandbox() as srv:
        spec = _repair_spec(srv.base_url, warehouse, small_merchant.as_of, tmp_path)
        child = point.child_point(repair_baseline.counts)
        print(f"{point.id}: child point {child}")
        code, _ = run_child({**spec, "point": child})
        assert code == KILLED, f"{point.id} was never reached (exit {code})"
        left = ledger_statuses(warehouse)
        # the rerun is an ordinary run: in this process, which saves a child's imports
        report = apply_actions(
            warehouse, connections_for(srv), dry_run=False, allow={"all"}, as_of=small_merchant.as_of
        )
        assert report.totals()["failed"] == 0, report.totals()
        writes = api_writes(srv)
        digest = merchant_digest(srv, tmp_path)
    statuses = ledger_statuses(warehouse)
    clean = repair_baseline.writes
    double = {k: v - clean.get(k, 0) for k, v in writes.items() if v > clean.get(k, 0)}
    missing = {k: v - writes.get(k, 0) for k, v in clean.items() if writes.get(k, 0) < v}
    assert not double, f"{point.id}: writes applied twice: {double} (ledger at the crash: {left})"
    assert not missing, f"{point.id}: writes never applied: {missing}"
    assert set(statuses) == set(repair_baseline.statuses)
    open_rows = {a: s for a, s in statuses.items() if s not in ("applied", "skipped")}
    assert not open_rows, f"{point.id}: actions left open after the rerun: {open_rows}"
    assert digest == repair_baseline.digest, f"{point.id}: the merchant differs from a clean repair run"
