"""Run one extraction against a sandbox URL and SIGKILL ourselves at a chosen point inside dlt.

    python -m tests.support.crash_child URL WAREHOUSE PIPELINES_DIR [POINT]

Points: ``extract`` (after a few pages), ``normalize`` (files written, package not committed),
``load_committed`` (a load job ran in DuckDB but its file was not moved: the dlt #3023 gap),
``load_complete`` (every job done, package not yet marked loaded). No point: a clean run.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import httpx


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> dict[str, Any]:
    hooks: dict[str, Any] = {}
    if point == "extract":
        pages = {"n": 0}

        def on_page(*_: Any) -> None:
            pages["n"] += 1
            if pages["n"] == 25:
                die()

        hooks["progress"] = on_page
    elif point == "normalize":
        from dlt.normalize.normalize import Normalize

        original = Normalize.spool_files

        def spool(self, load_id, schema, map_f, files):  # noqa: ANN001
            map_f(schema, load_id, files)
            die()
            return original(self, load_id, schema, map_f, files)

        Normalize.spool_files = spool
    elif point == "load_committed":
        from dlt.load.load import Load

        original_complete = Load.complete_jobs

        def complete_jobs(self, load_id, jobs, schema):  # noqa: ANN001
            if any(job.state() == "completed" for job in jobs):
                die()
            return original_complete(self, load_id, jobs, schema)

        Load.complete_jobs = complete_jobs
    elif point == "load_complete":
        from dlt.load.load import Load

        def complete_package(self, load_id, schema, aborted=False):  # noqa: ANN001
            die()

        Load.complete_package = complete_package
    return hooks


def main() -> None:
    url, warehouse, pipelines_dir = sys.argv[1:4]
    point = sys.argv[4] if len(sys.argv) > 4 else ""
    from pathlib import Path

    from extract.run import run_extract
    from shoptok.connections import connection_from_entry

    manifest = httpx.get(f"{url}/_sandbox/manifest", timeout=30).json()
    conns = [
        connection_from_entry(
            c, shopify_base_url=f"{url}/shopify/{c['shopify']['shop_domain']}", tiktok_base_url=f"{url}/tiktok"
        )
        for c in manifest["connections"]
    ]
    hooks = arm(point) if point else {}
    run_extract(conns, warehouse=Path(warehouse), pipelines_dir=Path(pipelines_dir), progress=hooks.get("progress"))


if __name__ == "__main__":
    main()
