"""The dbt project as Dagster sees it: a manifest that exists (and is fresh) whenever the code loads.

``dagster-dbt`` reads ``manifest.json`` at import time. A clean clone has no ``target/``, and a
model edited since the last parse would load stale, so on load we run ``dbt parse`` (the venv's
dbt) when the manifest is missing or older than any file of the project — about 3 s, once;
afterwards the check is a directory walk. The manifest lives in its own target folder
(``target/dagster_manifest``) so ``shoptok transform`` and the tests, which write ``target/``,
never rewrite it under a loading code server; a file lock keeps concurrent loaders (webserver and
daemon code servers) from parsing twice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from dagster_dbt import DbtProject
from filelock import FileLock

from orchestration.defs.resources import DBT_PROJECT_DIR
from shoptok.transform import dbt_executable

MANIFEST_TARGET = Path("target", "dagster_manifest")
#: where dbt invocations from Dagster write their artifacts (one fixed folder: runs are serialized
#: by the duckdb_writer pool, and per-run folders would pile up every 15 minutes)
RUN_TARGET = Path("target", "dagster_run")
_SOURCES = ("models", "macros", "tests", "seeds", "snapshots", "analyses")
_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _FILES:
        f = project_dir / name
        if f.exists():
            newest = max(newest, f.stat().st_mtime)
    for sub in _SOURCES:
        root = project_dir / sub
        if root.exists():
            for f in root.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir)


def prepare_manifest(project: DbtProject) -> Path:
    """``dbt parse`` into the project's target path when the manifest is missing or stale."""
    if not manifest_is_stale(project):
        return project.manifest_path
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(project.manifest_path.with_suffix(".lock")), timeout=300):
        if not manifest_is_stale(project):  # another process parsed while we waited
            return project.manifest_path
        cmd = [
            dbt_executable(),
            "parse",
            "--quiet",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            "--target-path",
            str(project.project_dir / project.target_path),
        ]
        proc = subprocess.run(cmd, cwd=project.project_dir, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not project.manifest_path.exists():
            raise RuntimeError(f"dbt parse failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return project.manifest_path


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=MANIFEST_TARGET)
prepare_manifest(dbt_project)
