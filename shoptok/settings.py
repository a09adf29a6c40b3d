"""The one settings module: every path, clock and endpoint choice is read here, from env vars.

Asset and stage code receives a ``Settings`` object; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def parse_as_of(value: str | None) -> datetime | None:
    """Parse an ``--as-of`` value: ISO-8601, naive taken as UTC, always returned in UTC."""
    if not value:
        return None
    ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path(os.environ.get("SHOPTOK_HOME", PROJECT_ROOT / "var")))
    warehouse: Path | None = None
    as_of: datetime | None = None
    #: the warehouse engine (SHOPTOK_WAREHOUSE_ENGINE); with postgres, ``warehouse_path`` is unused
    engine: WarehouseEngine = field(default_factory=lambda: load_warehouse_engine())

    def as_of_or_now(self) -> datetime:
        return self.as_of or datetime.now(UTC).replace(microsecond=0)

    @property
    def pipelines_dir(self) -> Path:
        return self.home / "dlt"

    @property
    def warehouse_path(self) -> Path:
        if self.warehouse is not None:
            return self.warehouse
        env = os.environ.get("SHOPTOK_WAREHOUSE")
        return Path(env) if env else self.home / "warehouse.duckdb"


# --------------------------------------------------------------------------- warehouse engine

ENGINES = ("duckdb", "postgres")


@dataclass(frozen=True)
class WarehouseEngine:
    """Which engine holds the warehouse: the one switch the dlt destination, the dbt target and the
    Dagster resources all follow, so moving to PostgreSQL is configuration, not code.

    ``duckdb`` (default) is the embedded file at ``Settings.warehouse_path``; ``postgres`` is a server
    reached with these credentials. The password never appears in ``repr`` (logs, Dagster metadata).
    """

    #: SHOPTOK_WAREHOUSE_ENGINE: duckdb | postgres
    engine: str = "duckdb"
    #: SHOPTOK_PG_HOST, SHOPTOK_PG_PORT, SHOPTOK_PG_DATABASE, SHOPTOK_PG_USER, SHOPTOK_PG_PASSWORD
    host: str = "127.0.0.1"
    port: int = 5432
    database: str = "shoptok"
    user: str = "shoptok"
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"SHOPTOK_WAREHOUSE_ENGINE={self.engine!r}: expected one of {', '.join(ENGINES)}")

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgres"

    @property
    def dbt_target(self) -> str:
        """The output of dbt_project/profiles.yml this engine uses (SHOPTOK_DBT_TARGET)."""
        return self.engine

    def pg_params(self) -> dict[str, object]:
        """Keyword arguments for ``psycopg2.connect`` / the dbt profile / dlt's credentials."""
        params: dict[str, object] = {"host": self.host, "port": self.port, "dbname": self.database, "user": self.user}
        if self.password is not None:
            params["password"] = self.password
        return params

    def dbt_env(self) -> dict[str, str]:
        """The variables dbt's profile reads (dbt_project/profiles.yml, output ``postgres``)."""
        env = {"SHOPTOK_DBT_TARGET": self.dbt_target}
        if self.is_postgres:
            p = self.pg_params()
            env.update(
                SHOPTOK_PG_HOST=str(p["host"]),
                SHOPTOK_PG_PORT=str(p["port"]),
                SHOPTOK_PG_DATABASE=str(p["dbname"]),
                SHOPTOK_PG_USER=str(p["user"]),
                SHOPTOK_PG_PASSWORD=str(p.get("password") or ""),
            )
        return env

    def describe(self) -> str:
        """Where the warehouse is, for a log line: never the password."""
        if not self.is_postgres:
            return "duckdb"
        p = self.pg_params()
        return f"postgres://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"


def load_warehouse_engine() -> WarehouseEngine:
    env = os.environ
    defaults = WarehouseEngine()
    return WarehouseEngine(
        engine=(env.get("SHOPTOK_WAREHOUSE_ENGINE") or defaults.engine).strip().lower(),
        host=env.get("SHOPTOK_PG_HOST") or defaults.host,
        port=int(env.get("SHOPTOK_PG_PORT") or defaults.port),
        database=env.get("SHOPTOK_PG_DATABASE") or defaults.database,
        user=env.get("SHOPTOK_PG_USER") or defaults.user,
        password=env.get("SHOPTOK_PG_PASSWORD") or None,
    )


def load_settings(warehouse: Path | None = None, as_of: str | None = None) -> Settings:
    return Settings(warehouse=warehouse, as_of=parse_as_of(as_of) or parse_as_of(os.environ.get("SHOPTOK_AS_OF")))


def environ() -> dict[str, str]:
    """The process environment, read in one place (credentials, paths)."""
    return dict(os.environ)


# --------------------------------------------------------------------------- orchestration (Dagster)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class OrchestrationSettings:
    """What the Dagster code location reads at load time: connections, partitions, cron, auto-apply.

    Every field comes from an env var (named in the comment) with a default that runs the
    embedded sandbox merchant without credentials.
    """

    #: SHOPTOK_CONNECTIONS_FILE: connections file (credentials from env vars); unset → sandbox
    connections_file: Path | None = None
    #: SHOPTOK_SANDBOX_URL: a running sandbox to extract from (its /_sandbox/manifest)
    sandbox_url: str | None = None
    #: SHOPTOK_SANDBOX_SEED: seed of the embedded sandbox started when neither of the above is set
    sandbox_seed: int = 42
    #: SHOPTOK_CONNECTION_IDS (comma-separated): partition keys when there is no connections file
    default_connection_ids: tuple[str, ...] = ("us", "uk")
    #: SHOPTOK_PARTITIONS_START: first day (UTC) of the daily partitions an ops user can backfill
    partitions_start: str = "2026-01-01"
    #: SHOPTOK_SYNC_CRON: incremental sync + reconciliation
    sync_cron: str = "*/15 * * * *"
    #: SHOPTOK_PAYOUT_CRON: weekly payout reconciliation (UTC)
    payout_cron: str = "0 6 * * 1"
    #: SHOPTOK_CATALOG_CRON: daily catalog health (UTC)
    catalog_cron: str = "0 5 * * *"
    #: SHOPTOK_AUTO_APPLY (comma-separated action types): repair plans made only of these types
    #: run for real; anything else is a dry run. Default: none (every repair run is a dry run).
    auto_apply_action_types: frozenset[str] = frozenset()

    def connection_ids(self) -> list[str]:
        """Connection ids known at load time: the connections file's ids (no credentials read), else the default."""
        if self.connections_file is not None:
            import json

            try:
                doc = json.loads(Path(self.connections_file).read_text())
            except (OSError, ValueError):
                return list(self.default_connection_ids)
            entries = doc.get("connections") if isinstance(doc, dict) else doc
            ids = [str(e["id"]) for e in entries or [] if isinstance(e, dict) and e.get("id")]
            if ids:
                return ids
        return list(self.default_connection_ids)


def load_orchestration_settings() -> OrchestrationSettings:
    env = os.environ
    defaults = OrchestrationSettings()
    conn_file = env.get("SHOPTOK_CONNECTIONS_FILE")
    return OrchestrationSettings(
        connections_file=Path(conn_file) if conn_file else None,
        sandbox_url=env.get("SHOPTOK_SANDBOX_URL") or None,
        sandbox_seed=int(env.get("SHOPTOK_SANDBOX_SEED") or defaults.sandbox_seed),
        default_connection_ids=_csv(env.get("SHOPTOK_CONNECTION_IDS")) or defaults.default_connection_ids,
        partitions_start=env.get("SHOPTOK_PARTITIONS_START") or defaults.partitions_start,
        sync_cron=env.get("SHOPTOK_SYNC_CRON") or defaults.sync_cron,
        payout_cron=env.get("SHOPTOK_PAYOUT_CRON") or defaults.payout_cron,
        catalog_cron=env.get("SHOPTOK_CATALOG_CRON") or defaults.catalog_cron,
        auto_apply_action_types=frozenset(_csv(env.get("SHOPTOK_AUTO_APPLY"))),
    )
