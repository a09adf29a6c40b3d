"""One pipeline stage in a child process that SIGKILLs itself at a seeded point (the crash matrix).

    python -m tests.support.crash_runner SPEC_JSON

``SPEC_JSON`` is ``{"stage": ..., "point": {...} | null, "report": PATH, ...stage arguments}``.
With no point the stage runs to the end and ``report`` gets what a clean run counted (how many
HTTP requests, dlt steps, GX suites, writeback calls happened), so the test can place a point
inside that range; a crash point kills the process with ``SIGKILL`` -- no handler, no ``finally``,
no flush, exactly what the OOM killer or a pulled plug does.

Points (``n`` counts from 1 over the whole run):

* extract: ``{"kind": "http", "n"}`` after the n-th HTTP response arrived, before the client
  reads it; ``{"kind": "dlt", "step": "page"|"normalize"|"load_committed"|"load_complete", "n"}``
  at the n-th occurrence of that dlt step (see ``tests/support/crash_child.py`` for each step).
* gx: ``{"kind": "suite", "n"}`` when the n-th suite starts validating; ``{"kind": "docs"}`` after
  the Data Docs build, before the row-count history is written.
* repair: ``{"kind": "call", "n", "phase": "before"|"after"}`` around the n-th API write (after =
  the platform applied it and answered, the ledger has not heard of it); ``{"kind": "ledger", "n"}``
  right after the n-th outcome row was written.
* dbt is killed from outside by ``kill_dbt_at_node`` (dbt is its own process).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

COUNTS: Counter[str] = Counter()


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _tick(name: str, point: dict[str, Any] | None, key: str) -> None:
    """Count one occurrence of ``name``; SIGKILL when it is the point's n-th."""
    COUNTS[name] += 1
    if point is not None and _point_key(point) == key and COUNTS[name] == int(point["n"]):
        die()


def _point_key(point: dict[str, Any]) -> str:
    if point["kind"] == "dlt":
        return f"dlt.{point['step']}"
    if point["kind"] == "call":
        return f"call.{point['phase']}"
    return str(point["kind"])


# --------------------------------------------------------------------------- extract


def _arm_extract(point: dict[str, Any] | None) -> Any:
    import httpx
    from dlt.load.load import Load
    from dlt.normalize.normalize import Normalize

    send = httpx.Client.send

    def counting_send(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        response = send(self, request, *args, **kwargs)
        _tick("http", point, "http")
        return response

    httpx.Client.send = counting_send

    spool = Normalize.spool_files

    def spool_files(self, load_id, schema, map_f, files):  # noqa: ANN001
        if point is not None and _point_key(point) == "dlt.normalize" and COUNTS["dlt.normalize"] + 1 == point["n"]:
            map_f(schema, load_id, files)  # the files are written, the package is not committed
        _tick("dlt.normalize", point, "dlt.normalize")
        return spool(self, load_id, schema, map_f, files)

    Normalize.spool_files = spool_files

    complete_jobs = Load.complete_jobs

    def complete(self, load_id, jobs, schema):  # noqa: ANN001
        if any(job.state() == "completed" for job in jobs):
            _tick("dlt.load_committed", point, "dlt.load_committed")
        return complete_jobs(self, load_id, jobs, schema)

    Load.complete_jobs = complete

    complete_package = Load.complete_package

    def package(self, load_id, schema, aborted=False):  # noqa: ANN001
        _tick("dlt.load_complete", point, "dlt.load_complete")
        return complete_package(self, load_id, schema, aborted)

    Load.complete_package = package

    def on_page(*_: Any) -> None:
        _tick("dlt.page", point, "dlt.page")

    return on_page


def connections_from(url: str) -> list[Any]:
    import httpx

    from shoptok.connections import connection_from_entry

    manifest = httpx.get(f"{url}/_sandbox/manifest", timeout=30).json()
    return [
        connection_from_entry(
            c, shopify_base_url=f"{url}/shopify/{c['shopify']['shop_domain']}", tiktok_base_url=f"{url}/tiktok"
        )
        for c in manifest["connections"]
    ]


def run_extract_stage(spec: dict[str, Any]) -> dict[str, Any]:
    from extract.run import run_extract

    conns = connections_from(spec["url"])
    on_page = _arm_extract(spec.get("point"))
    run_extract(conns, warehouse=Path(spec["warehouse"]), pipelines_dir=Path(spec["pipelines"]), progress=on_page)
    return dict(COUNTS)


# --------------------------------------------------------------------------- GX


def run_gx_stage(spec: dict[str, Any]) -> dict[str, Any]:
    from expectations import checks

    point = spec.get("point")
    validate = checks._validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        _tick("suite", point, "suite")
        return validate(*args, **kwargs)

    checks._validate = counting_validate
    build_docs = checks._build_docs

    def docs_then_die(*args: Any, **kwargs: Any) -> Any:
        pages = build_docs(*args, **kwargs)
        if point is not None and point["kind"] == "docs":
            die()
        return pages

    checks._build_docs = docs_then_die
    outcomes = checks.run_all(
        Path(spec["warehouse"]),
        datetime.fromisoformat(spec["as_of"]),
        docs_dir=Path(spec["docs_dir"]),
        history_path=Path(spec["history"]),
    )
    return {"counts": dict(COUNTS), "outcomes": outcome_report(outcomes)}


def outcome_report(outcomes: dict[str, Any]) -> dict[str, list[Any]]:
    """What a GX run decided, per check: passed, blocking, failed expectations, rows read."""
    return {
        name: [o.passed, o.blocking, o.metadata.get("failed_expectations"), o.metadata.get("row_count")]
        for name, o in sorted(outcomes.items())
    }


# --------------------------------------------------------------------------- repair


def run_repair_stage(spec: dict[str, Any]) -> dict[str, Any]:
    from orchestration.defs.writeback import actions, ledger
    from orchestration.defs.writeback.engine import apply_actions

    point = spec.get("point")
    send = actions.Attempt.send

    def crashing_send(self, request, call):  # noqa: ANN001
        def wrapped() -> Any:
            _tick("call.before", point, "call.before")
            answer = call()
            _tick("call.after", point, "call.after")
            return answer

        return send(self, request, wrapped)

    actions.Attempt.send = crashing_send
    record_outcome = ledger.record_outcome

    def outcome_then_die(*args: Any, **kwargs: Any) -> Any:
        result = record_outcome(*args, **kwargs)
        _tick("ledger", point, "ledger")
        return result

    ledger.record_outcome = outcome_then_die
    report = apply_actions(
        Path(spec["warehouse"]),
        connections_from(spec["url"]),
        dry_run=False,
        allow={"all"},
        as_of=datetime.fromisoformat(spec["as_of"]),
    )
    return {"counts": dict(COUNTS), "totals": report.totals()}


# --------------------------------------------------------------------------- dbt (killed from outside)

_START = re.compile(r"\b(\d+) of (\d+) START\b")


def kill_dbt_at_node(
    args: list[str], *, warehouse: Path, as_of: datetime, node: int | None, timeout_s: float = 600
) -> tuple[int, int, str]:
    """Run ``dbt <args>``; SIGKILL it when node ``node`` (1-based, dbt's own ``N of M``) starts.

    Returns (exit code, nodes in the run, output). ``node=None`` runs to the end.
    """
    from shoptok.transform import DBT_PROJECT, dbt_env, dbt_executable, dbt_vars

    cmd = [dbt_executable(), "--no-use-colors", *args, "--project-dir", str(DBT_PROJECT)]
    cmd += ["--profiles-dir", str(DBT_PROJECT), "--vars", dbt_vars(as_of)]
    proc = subprocess.Popen(  # noqa: S603
        cmd,
        env=dbt_env(warehouse),
        cwd=DBT_PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    total, lines, deadline = 0, [], time.monotonic() + timeout_s
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        found = _START.search(line)
        if found:
            total = int(found.group(2))
            if node is not None and int(found.group(1)) == node:
                proc.send_signal(signal.SIGKILL)
                break
        if time.monotonic() > deadline:
            proc.kill()
            break
    code = proc.wait(timeout=timeout_s)
    proc.stdout.close()
    return code, total, "".join(lines)


# --------------------------------------------------------------------------- parent side


def run_child(spec: dict[str, Any], *, kill_after_s: float | None = None, timeout_s: float = 600) -> tuple[int, Any]:
    """Run a stage in a child; SIGKILL it after ``kill_after_s`` if given. (exit code, its report or None)."""
    root = Path(__file__).resolve().parents[2]
    report = Path(spec["report"])
    report.unlink(missing_ok=True)
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.support.crash_runner", json.dumps(spec)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, err = proc.communicate(timeout=kill_after_s if kill_after_s is not None else timeout_s)
    except subprocess.TimeoutExpired:
        if kill_after_s is None:
            proc.kill()
            raise
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"{spec['stage']} child failed ({proc.returncode}): {err.decode()[-4000:]}")
    data = json.loads(report.read_text()) if report.exists() else None
    return proc.returncode, data


STAGES = {"extract": run_extract_stage, "gx": run_gx_stage, "repair": run_repair_stage}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = STAGES[spec["stage"]](spec)
    Path(spec["report"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
