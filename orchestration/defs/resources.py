"""Every resource of the code location, defined once, plus the run defaults that keep DuckDB single-writer.

Resource keys (assets, checks, sensors and the writeback job ask for them by these names):

* ``warehouse`` — :class:`WarehouseResource`: the DuckDB file and the dlt pipelines folder;
* ``connections`` — :class:`ConnectionsResource`: the Shopify ↔ TikTok Shop connections;
* ``clock`` — :class:`ClockResource`: the run's ``as_of`` (dbt ``--vars``, checks, writeback);
* ``dbt`` — :class:`dagster_dbt.DbtCliResource` over ``dbt_project/`` with the venv's ``dbt``.

DuckDB takes one read-write process at a time, so every asset or op that writes the warehouse
declares ``pool=DUCKDB_WRITER_POOL``; the instance limits that pool to 1 (``make ui`` writes that
``dagster.yaml``), and the default executor is in-process, so one run never writes in parallel.

The warehouse engine (``SHOPTOK_WAREHOUSE_ENGINE``, ``shoptok.settings.WarehouseEngine``) switches
the resources with dlt and dbt: on ``postgres`` the ``warehouse`` resource connects to the server
(``SHOPTOK_PG_*``), the ``dbt`` resource uses the profile's ``postgres`` target, and the writer
pool is dropped (``DUCKDB_WRITER_POOL`` is None): PostgreSQL takes many writers, so runs of
different shops (and their repair runs) proceed side by side.

Configuration comes from env vars through the settings module (``shoptok.settings``); a variable
that is set is passed as ``dg.EnvVar`` so the UI shows where the value comes from.
"""

from __future__ import annotations

import atexit
import threading
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import httpx
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from shoptok.connections import Connection, connection_from_entry, connections_from_sandbox, load_connections_file
from shoptok.settings import (
    PROJECT_ROOT,
    environ,
    load_orchestration_settings,
    load_settings,
    load_warehouse_engine,
    parse_as_of,
)
from shoptok.transform import dbt_executable
from shoptok.warehouse import connect_read_only

_ENGINE = load_warehouse_engine()
#: the concurrency pool of everything that opens the warehouse read-write (limit 1 on the instance);
#: None on PostgreSQL, which serialises nothing between connections (many writers)
DUCKDB_WRITER_POOL: str | None = None if _ENGINE.is_postgres else "duckdb_writer"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse every stage shares (the DuckDB file, or the PostgreSQL database when ``engine`` is
    ``postgres``: credentials from the settings module, never in the config), and the dlt state folder."""

    path: str
    pipelines_dir: str
    engine: str = "duckdb"

    @property
    def warehouse_path(self) -> Path:
        return Path(self.path).expanduser().resolve()

    @property
    def pipelines_path(self) -> Path:
        return Path(self.pipelines_dir).expanduser().resolve()

    def exists(self) -> bool:
        return self.engine == "postgres" or self.warehouse_path.exists()

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection (on DuckDB it still blocks writers while open: close it quickly)."""
        if self.engine == "postgres":
            return connect_read_only(self.warehouse_path, load_warehouse_engine())
        return duckdb.connect(str(self.warehouse_path), read_only=True)


_EMBEDDED: dict[int, object] = {}
_EMBEDDED_LOCK = threading.Lock()


def _embedded_sandbox_info(seed: int) -> dict:
    """Start the embedded sandbox once per process (per seed) and stop it when the process exits."""
    from shoptok.embedded import EmbeddedSandbox

    with _EMBEDDED_LOCK:
        box = _EMBEDDED.get(seed)
        if box is None:
            box = EmbeddedSandbox(seed=seed).start()
            _EMBEDDED[seed] = box
            atexit.register(box.stop)
        return box.info  # type: ignore[attr-defined]


class ConnectionsResource(dg.ConfigurableResource):
    """Which shops to sync, and how to reach them.

    In order of precedence: a connections file (JSON without secrets; credentials from the
    ``SHOPTOK_<ID>_…`` env vars, read by the settings module), a running sandbox's
    ``/_sandbox/manifest``, or — when neither is set, the no-credentials default — an embedded
    sandbox (``python -m sandbox serve`` in a subprocess, seed ``sandbox_seed``) started once per
    process and stopped when it exits.
    """

    connections_file: str | None = None
    sandbox_url: str | None = None
    sandbox_seed: int = 42

    _cache: list[Connection] | None = PrivateAttr(default=None)

    @property
    def source_kind(self) -> str:
        if self.connections_file:
            return "connections_file"
        return "sandbox_url" if self.sandbox_url else "embedded_sandbox"

    def load(self) -> list[Connection]:
        if self._cache is None:
            self._cache = self._load()
        return list(self._cache)

    def _load(self) -> list[Connection]:
        if self.connections_file:
            return load_connections_file(Path(self.connections_file), environ())
        if self.sandbox_url:
            base = self.sandbox_url.rstrip("/")
            manifest = httpx.get(f"{base}/_sandbox/manifest", timeout=30).raise_for_status().json()
            return [
                connection_from_entry(
                    c,
                    shopify_base_url=f"{base}/shopify/{c['shopify']['shop_domain']}",
                    tiktok_base_url=f"{base}/tiktok",
                )
                for c in manifest["connections"]
            ]
        return connections_from_sandbox(_embedded_sandbox_info(self.sandbox_seed))

    def by_id(self) -> dict[str, Connection]:
        return {c.id: c for c in self.load()}


class ClockResource(dg.ConfigurableResource):
    """The run's clock: ``as_of`` (ISO-8601, UTC) pins it — reproducible runs, backfills — else the time
    the run's resources were set up, so every step of one run (dbt, checks, writeback) sees one clock."""

    as_of: str | None = None

    _started: datetime | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._started = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return parse_as_of(self.as_of) or self._started or datetime.now(UTC).replace(microsecond=0)

    def pinned(self) -> datetime | None:
        return parse_as_of(self.as_of)


def _env_or(name: str, default: object) -> object:
    """``dg.EnvVar(name)`` when the variable is set (the UI shows its origin), else the settings default."""
    return dg.EnvVar(name) if environ().get(name) else default


def build_resources() -> dict[str, object]:
    settings = load_settings()
    orch = load_orchestration_settings()
    return {
        "warehouse": WarehouseResource(
            path=_env_or("SHOPTOK_WAREHOUSE", str(settings.warehouse_path)),
            pipelines_dir=str(settings.pipelines_dir),
            engine=settings.engine.engine,
        ),
        "connections": ConnectionsResource(
            connections_file=_env_or("SHOPTOK_CONNECTIONS_FILE", None),
            sandbox_url=_env_or("SHOPTOK_SANDBOX_URL", None),
            sandbox_seed=orch.sandbox_seed,
        ),
        "clock": ClockResource(as_of=_env_or("SHOPTOK_AS_OF", None)),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
            target=settings.engine.dbt_target,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(), executor=dg.in_process_executor)
