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


def load_settings(warehouse: Path | None = None, as_of: str | None = None) -> Settings:
    return Settings(warehouse=warehouse, as_of=parse_as_of(as_of) or parse_as_of(os.environ.get("SHOPTOK_AS_OF")))


def environ() -> dict[str, str]:
    """The process environment, read in one place (credentials, paths)."""
    return dict(os.environ)
