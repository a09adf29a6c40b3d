"""Run dbt on the shared warehouse with the run's clock: ``dbt build`` with ``as_of`` as a var.

dbt runs in its own process (the venv's ``dbt``), so its global state never leaks into a
long-lived caller such as the Dagster code server, and a crash in it cannot take the caller down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shoptok.settings import PROJECT_ROOT, load_warehouse_engine

DBT_PROJECT = PROJECT_ROOT / "dbt_project"


@dataclass
class DbtResult:
    returncode: int
    command: list[str]
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_env(warehouse: Path) -> dict[str, str]:
    """dbt's environment: the profile's target and its connection follow the engine setting."""
    env = dict(os.environ)
    env["SHOPTOK_WAREHOUSE"] = str(Path(warehouse).resolve())
    env.update(load_warehouse_engine().dbt_env())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def dbt_vars(as_of: datetime, extra: dict[str, object] | None = None) -> str:
    values: dict[str, object] = {"as_of": as_of.strftime("%Y-%m-%dT%H:%M:%S")}
    values.update(extra or {})
    return json.dumps(values)


def run_dbt(
    args: Sequence[str],
    *,
    warehouse: Path,
    as_of: datetime,
    extra_vars: dict[str, object] | None = None,
    stream: bool = False,
) -> DbtResult:
    """``dbt <args> --vars {as_of…}`` against the warehouse; output captured (or streamed) and returned."""
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--vars",
        dbt_vars(as_of, extra_vars),
    ]
    if stream:
        proc = subprocess.run(cmd, env=dbt_env(warehouse), cwd=DBT_PROJECT, check=False)
        return DbtResult(proc.returncode, cmd, "")
    proc = subprocess.run(cmd, env=dbt_env(warehouse), cwd=DBT_PROJECT, capture_output=True, text=True, check=False)
    return DbtResult(proc.returncode, cmd, proc.stdout + proc.stderr)
