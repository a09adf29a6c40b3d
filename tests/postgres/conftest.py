"""A PostgreSQL 15 cluster for the session, and the default merchant built on it.

The cluster is real (Debian's server binaries, ``initdb`` + ``pg_ctl`` on 127.0.0.1, a random free
port) and the pipeline reaches it only through the settings module's variables
(``SHOPTOK_WAREHOUSE_ENGINE=postgres`` + ``SHOPTOK_PG_*``), exactly as a user would configure it.
Missing binaries fail the tests with the install command: CI installs them, nothing is skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.postgres.cluster import PgCluster, PostgresUnavailable


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = PgCluster()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass
class PgMerchant:
    cluster: PgCluster
    as_of: object
    checks: dict
    plan: list
    #: the dry run's report (the ledger and alerts it wrote are in the cluster's ``ops`` schema)
    dry_run: object
    #: the merchant's connections (their sandbox is stopped: only for dry runs, which call nothing)
    connections: list
    #: wall time per stage, seconds
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="session")
def pg_merchant(pg_cluster: PgCluster, tmp_path_factory) -> PgMerchant:
    """The default merchant through extraction → dbt build → GX checks → repair plan (read, then a dry
    run that records it in the ledger), on PostgreSQL.

    The engine variables are set only while this fixture runs, so DuckDB tests in the same session
    (``built_merchant``) keep the default engine.
    """
    from expectations.checks import run_all
    from extract.run import run_extract
    from orchestration.defs.writeback.engine import apply_actions
    from orchestration.defs.writeback.plan import read_plan
    from sandbox.generator import GeneratorParams, generate
    from sandbox.server import SandboxServer
    from shoptok.settings import load_warehouse_engine
    from shoptok.transform import run_dbt
    from shoptok.warehouse import connect_read_only
    from tests.writeback.support import connections_for

    root = tmp_path_factory.mktemp("pg_merchant")
    unused = Path(root / "never-created.duckdb")
    timings: dict[str, float] = {}
    state, _truth = generate(GeneratorParams())
    with pytest.MonkeyPatch.context() as mp:
        for name, value in pg_cluster.env().items():
            mp.setenv(name, value)
        mp.delenv("SHOPTOK_WAREHOUSE", raising=False)
        assert load_warehouse_engine().is_postgres
        started = time.monotonic()
        with SandboxServer(state) as srv:
            conns = connections_for(srv)
            run_extract(conns, warehouse=unused, pipelines_dir=root / "dlt")
        timings["extract"] = time.monotonic() - started

        started = time.monotonic()
        built = run_dbt(["build"], warehouse=unused, as_of=state.as_of)
        timings["dbt build"] = time.monotonic() - started
        assert built.ok, built.output[-8000:]

        started = time.monotonic()
        checks = run_all(unused, state.as_of, docs_dir=root / "docs", history_path=root / "history.json")
        timings["checks"] = time.monotonic() - started

        started = time.monotonic()
        with connect_read_only(unused) as con:
            plan = read_plan(con)
        dry_run = apply_actions(unused, conns, dry_run=True, actor="cli", as_of=state.as_of)
        timings["repair plan"] = time.monotonic() - started
    assert not unused.exists(), "the postgres engine must not create a DuckDB file"
    return PgMerchant(
        cluster=pg_cluster,
        as_of=state.as_of,
        checks=checks,
        plan=plan,
        dry_run=dry_run,
        connections=conns,
        timings=timings,
    )
