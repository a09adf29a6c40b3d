"""Ingest partitions: connection × day (UTC), and how a run's partition keys become extraction windows.

* ``connection`` — static, from the connections file's ids (or ``SHOPTOK_CONNECTION_IDS``, default
  ``us,uk``: the sandbox merchant), read by the settings module at load time;
* ``day`` — daily from ``SHOPTOK_PARTITIONS_START``, UTC, ``end_offset=1`` so today is a partition.

A run for connection ``c`` and days ``D0..D1`` re-reads ``c`` from ``D0 00:00 UTC`` on (its dlt
cursors are reset to ``D0`` first), which covers every order *placed* in ``D0..D1``: the sources
are incremental on ``updated_at``/``update_time`` and an order is never updated before it is
placed. The read is not bounded above (the sources have no end cursor): it re-reads up to now,
merging on keys, so it is a superset of the window and idempotent. A scheduled sync instead runs
with ``incremental: true`` and only moves each cursor forward (minus the lookback).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from shoptok.settings import load_orchestration_settings

_SETTINGS = load_orchestration_settings()

CONNECTION_DIM = "connection"
DAY_DIM = "day"

connection_partitions = dg.StaticPartitionsDefinition(_SETTINGS.connection_ids())
day_partitions = dg.DailyPartitionsDefinition(start_date=_SETTINGS.partitions_start, timezone="UTC", end_offset=1)
ingest_partitions = dg.MultiPartitionsDefinition({CONNECTION_DIM: connection_partitions, DAY_DIM: day_partitions})


@dataclass(frozen=True)
class Window:
    """What one connection's extraction covers in this run."""

    connection_id: str
    first_day: str
    last_day: str
    #: where the re-read starts (cursors reset to it); None → plain incremental sync
    since: datetime | None

    @property
    def mode(self) -> str:
        return "incremental" if self.since is None else f"re-read from {self.since.date().isoformat()}"


def partition_key(connection_id: str, day: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({CONNECTION_DIM: connection_id, DAY_DIM: day})


def windows_for(partition_keys: list[str], *, incremental: bool) -> list[Window]:
    """Group a run's partition keys by connection: one window (first..last day) per connection."""
    days: dict[str, list[str]] = {}
    for key in partition_keys:
        mk = ingest_partitions.get_partition_key_from_str(key)
        days.setdefault(mk.keys_by_dimension[CONNECTION_DIM], []).append(mk.keys_by_dimension[DAY_DIM])
    out = []
    for cid in sorted(days):
        first, last = min(days[cid]), max(days[cid])
        since = None if incremental else datetime.fromisoformat(first).replace(tzinfo=UTC)
        out.append(Window(cid, first, last, since))
    return out


def today_key(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()
