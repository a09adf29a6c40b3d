"""The one engine setting switches dlt, dbt and Dagster together, and never shows the password."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shoptok.settings import PROJECT_ROOT, WarehouseEngine, load_warehouse_engine

PG_ENV = {
    "SHOPTOK_WAREHOUSE_ENGINE": "postgres",
    "SHOPTOK_PG_HOST": "127.0.0.1",
    "SHOPTOK_PG_PORT": "6543",
    "SHOPTOK_PG_DATABASE": "wh",
    "SHOPTOK_PG_USER": "loader",
    "SHOPTOK_PG_PASSWORD": "s3cret-never-logged",
}


def test_default_is_duckdb(monkeypatch):
    monkeypatch.delenv("SHOPTOK_WAREHOUSE_ENGINE", raising=False)
    engine = load_warehouse_engine()
    assert engine.engine == "duckdb" and engine.dbt_target == "duckdb"
    assert engine.dbt_env() == {"SHOPTOK_DBT_TARGET": "duckdb"}


def test_postgres_settings_and_secrets(monkeypatch):
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    engine = load_warehouse_engine()
    assert engine.pg_params() == {"host": "127.0.0.1", "port": 6543, "dbname": "wh", "user": "loader",
                                  "password": "s3cret-never-logged"}  # fmt: skip
    assert engine.dbt_env()["SHOPTOK_DBT_TARGET"] == "postgres"
    assert "s3cret" not in repr(engine) and "s3cret" not in engine.describe()
    with pytest.raises(ValueError, match="SHOPTOK_WAREHOUSE_ENGINE='oracle'"):
        WarehouseEngine(engine="oracle")


def test_dlt_destination_follows_the_engine(monkeypatch, tmp_path):
    from extract.pipeline import destination, loader_file_format

    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    dest = destination(tmp_path / "unused.duckdb")
    assert dest.destination_name == "postgres" and loader_file_format() == "insert_values"
    assert not (tmp_path / "unused.duckdb").exists()
    monkeypatch.setenv("SHOPTOK_WAREHOUSE_ENGINE", "duckdb")
    assert destination(tmp_path / "w.duckdb").destination_name == "duckdb" and loader_file_format() == "parquet"


@pytest.mark.slow
def test_dagster_resources_follow_the_engine():
    """In a fresh process (the pool is fixed when the code location loads): postgres drops the writer pool,
    points dbt at the postgres target and the warehouse resource at the server."""
    probe = (
        "import json; from orchestration.defs import resources as r; res = r.build_resources();"
        "from orchestration.defs.writeback.jobs import repair_job;"
        "print(json.dumps({'pool': r.DUCKDB_WRITER_POOL, 'target': res['dbt'].target,"
        "'engine': res['warehouse'].engine, 'op_pool': repair_job.nodes[0].definition.pool}))"
    )
    out = {}
    for engine in ("duckdb", "postgres"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPTOK_PG")}
        env.update(PG_ENV if engine == "postgres" else {"SHOPTOK_WAREHOUSE_ENGINE": "duckdb"})
        proc = subprocess.run([sys.executable, "-c", probe], env=env, cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=300, check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "s3cret" not in proc.stdout + proc.stderr
        out[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    pool = "duckdb_writer"
    assert out["duckdb"] == {"pool": pool, "target": "duckdb", "engine": "duckdb", "op_pool": pool}
    assert out["postgres"] == {"pool": None, "target": "postgres", "engine": "postgres", "op_pool": None}
