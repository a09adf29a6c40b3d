"""Shared benchmark helpers: the machine description, JSON-lines results, timed subprocesses with peak RSS.

Every benchmark appends one JSON object per measurement to ``bench/results/<name>.jsonl`` so
runs can be compared over time. The machine is shared (other jobs run on it), so each record
carries the load average before and after the measurement: a figure taken under load is marked
as such rather than silently slower.

Peak RSS of a stage is the peak of the stage's whole process tree (the stage's own process and
every child it starts, e.g. dbt's threads or a sandbox started by the stage), sampled from
``/proc`` every ``poll_s`` seconds; ``ru_maxrss`` of the children only reports the single
largest process, which undercounts a tree.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
SHOPTOK = str(ROOT / ".venv" / "bin" / "shoptok")

KEY_PACKAGES = (
    "dlt",
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "great-expectations",
    "pandas",
    "pyarrow",
    "httpx",
    "orjson",
    "dagster",
)


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except OSError:
        return None


def package_versions(names: Sequence[str] = KEY_PACKAGES) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    """What the figures were measured on: cores, RAM, CPU, OS, Python, key packages, git commit."""
    return {
        "cores": os.cpu_count(),
        "ram_gib": _mem_total_gib(),
        "cpu": _cpu_model(),
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_result(name_or_path: str | Path, row: dict[str, Any]) -> Path:
    """Append one JSON line to ``bench/results/<name>.jsonl`` (or the given path); returns the path."""
    path = Path(name_or_path)
    if path.suffix != ".jsonl":
        path = RESULTS / f"{name_or_path}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(row, default=str, sort_keys=False) + "\n")
    return path


# --------------------------------------------------------------------------- process trees


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: the ppid follows the last ')'
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants right now."""
    tree = _children_of()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_bytes(pid)
        todo.extend(tree.get(pid, ()))
    return total


class TreeRssSampler:
    """Samples the RSS of a process tree in a thread; ``peak`` is the largest sum seen."""

    def __init__(self, pid: int, poll_s: float = 0.2) -> None:
        self.pid = pid
        self.poll_s = poll_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.poll_s)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class StageRun:
    """One timed subprocess: its command, exit code, wall time, peak tree RSS and output tail."""

    cmd: list[str]
    returncode: int
    wall_s: float
    peak_rss_bytes: int
    load_before: list[float]
    load_after: list[float]
    output_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: user + system CPU seconds of the stage's process tree (children reaped by their parents
    #: included): on a shared machine, wall time grows with the load and CPU time does not
    cpu_s: float | None = None

    @property
    def peak_rss_mib(self) -> float:
        return round(self.peak_rss_bytes / 1024**2, 1)

    @property
    def command(self) -> str:
        return shlex.join(self.cmd)


def run_stage(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    log_path: Path | None = None,
    timeout_s: float | None = None,
    poll_s: float = 0.2,
) -> StageRun:
    """Run ``cmd``, measuring wall time and the peak RSS of its process tree; output goes to ``log_path``."""
    load_before = load_average()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        with TreeRssSampler(proc.pid, poll_s) as sampler:
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
        wall = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu_before
    finally:
        if log_path:
            log.close()
    tail = ""
    if log_path and log_path.exists():
        with log_path.open("rb") as fh:
            fh.seek(max(0, log_path.stat().st_size - 4000))
            tail = fh.read().decode("utf-8", "replace")
    return StageRun(
        cmd=list(cmd),
        returncode=rc,
        wall_s=round(wall, 2),
        peak_rss_bytes=sampler.peak,
        load_before=load_before,
        load_after=load_average(),
        output_tail=tail,
        cpu_s=round(cpu, 2),
    )
