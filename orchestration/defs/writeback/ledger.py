"""The writeback ledger (``ops.writeback_ledger``) and the alert inbox (``ops.alerts``) in the warehouse.

The ledger is the outbox of the repair stage: one row per planned action, keyed by the plan's
deterministic ``action_id`` (its idempotency key). A row is written *before* any API call
(``started``) and again after it (``applied`` / ``skipped`` / ``failed``), so a crash in between
leaves a ``started`` row that the next run resolves by re-reading the platform. It holds the exact
request sent, its sha256, the response's sha256 and the platform's request id, so every applied
action can be audited from this table alone.

DuckDB takes one writer at a time, across processes: every function here opens the file, does
its few statements and closes it again, so no connection is ever held while an API call is in
flight (a Dagster run, ``shoptok transform`` or a notebook can take the file in between).

On PostgreSQL (``SHOPTOK_WAREHOUSE_ENGINE=postgres``) the same SQL runs through
``shoptok.warehouse.PgConnection`` (autocommit, like DuckDB's default), and the run lock is a
session advisory lock per connection id: repairs of different shops go side by side.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shoptok.settings import load_warehouse_engine
from shoptok.warehouse import PgConnection

#: every status a ledger row can have; ``started`` = an attempt began and its outcome is not recorded
STATUSES = ("planned", "started", "applied", "skipped", "failed", "superseded")
#: statuses that end an action for good: the same action_id is never attempted again
TERMINAL = ("applied", "skipped")
#: statuses a newer plan replaces when it no longer contains the action
OPEN = ("planned", "started", "failed")
ACTORS = ("schedule", "sensor", "ui", "cli")

LEDGER = "ops.writeback_ledger"
ALERTS = "ops.alerts"

_DDL = f"""
create schema if not exists ops;
create table if not exists {LEDGER} (
    action_id varchar primary key,
    connection_id varchar not null,
    action_type varchar not null,
    target_platform varchar not null,
    target_id varchar not null,
    payload varchar not null,
    reason_drift_type varchar,
    requires_approval boolean,
    source_row varchar,
    plan_detected_at timestamp,
    status varchar not null check (status in ({", ".join(f"'{s}'" for s in STATUSES)})),
    attempts integer not null default 0,
    request varchar,
    request_digest varchar,
    response_digest varchar,
    platform_request_id varchar,
    result varchar,
    dry_run boolean not null,
    actor varchar not null,
    detail varchar,
    error varchar,
    planned_at timestamp not null,
    started_at timestamp,
    finished_at timestamp
);
create table if not exists {ALERTS} (
    action_id varchar primary key,
    connection_id varchar not null,
    reason_drift_type varchar not null,
    money_moving boolean not null,
    message varchar,
    target_platform varchar,
    target_id varchar,
    source_row varchar,
    first_seen_at timestamp not null,
    last_seen_at timestamp not null
);
"""


def utc_naive(ts: datetime) -> datetime:
    """The warehouse stores UTC as naive TIMESTAMPs (docs/marts.md); aware values are converted."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def canonical(value: Any) -> str:
    """One JSON text per value (sorted keys, no spaces): what digests are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


@contextlib.contextmanager
def connect(warehouse: Path, *, read_only: bool = False, wait_s: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse briefly, waiting while another process holds its write lock.

    Another writer (an extraction, ``dbt build``) holds the file for seconds to minutes; failing
    at once would turn every overlap into a failed repair run, so wait up to ``wait_s``.
    """
    engine = load_warehouse_engine()
    if engine.is_postgres:
        pg = PgConnection(engine, read_only=read_only)
        try:
            yield pg  # type: ignore[misc]
        finally:
            pg.close()
        return
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(warehouse), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield con
    finally:
        con.close()


class RepairRunInProgress(RuntimeError):
    """Another repair run holds this warehouse's writeback lock."""


@contextlib.contextmanager
def run_lock(warehouse: Path, *, wait_s: float = 30.0, connection_ids: Sequence[str] = ()) -> Iterator[None]:
    """One repair run per warehouse at a time (a CLI run and a Dagster run must not race).

    Two runs that both re-read a target before either writes could both apply the action; the
    ledger cannot prevent that, because a ``started`` row must stay claimable for crash recovery.
    An OS file lock next to the warehouse can: it is released when its process dies, so a crashed
    run never blocks the next one.
    """
    engine = load_warehouse_engine()
    if engine.is_postgres:
        with _pg_run_lock(engine, warehouse, wait_s, connection_ids):
            yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock; Dagster's pool still serialises its runs
        yield
        return
    path = Path(warehouse).with_name(Path(warehouse).name + ".writeback.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RepairRunInProgress(f"another repair run is using {warehouse} (lock {path})") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _pg_run_lock(engine: Any, warehouse: Path, wait_s: float, connection_ids: Sequence[str]) -> Iterator[None]:
    """PostgreSQL: one advisory lock per connection id (sorted, so two runs never deadlock), held by a
    session of its own for the run; released when that session ends, also when its process dies."""
    con = PgConnection(engine, read_only=False)
    keys = [f"shoptok.writeback:{cid}" for cid in sorted(set(connection_ids))] or ["shoptok.writeback:*"]
    try:
        for key in keys:
            deadline = time.monotonic() + wait_s
            while not con.execute("select pg_try_advisory_lock(hashtext(?))", [key]).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise RepairRunInProgress(f"another repair run holds {key} on {engine.describe()}")
                time.sleep(0.2)
        yield
    finally:
        con.close()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def ledger_rows(con: duckdb.DuckDBPyConnection, action_ids: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Ledger rows by action_id (all of them, or those of ``action_ids``)."""
    sql = f"select * from {LEDGER}"
    params: list[Any] = []
    if action_ids is not None:
        if not action_ids:
            return {}
        sql += " where action_id in (select unnest(?))"
        params.append(list(action_ids))
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return {row[0]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}


def supersede(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Close open rows whose action the current plan no longer contains (the drift moved or is gone).

    ``started`` rows are closed too: the plan was rebuilt from fresh data after the attempt, so it
    already reflects whatever that attempt did; the row keeps its request and digests for audit.
    """
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    cur = con.execute(
        f"""
        update {LEDGER}
        set status = 'superseded', finished_at = ?,
            detail = 'no longer in the plan (was ' || status || ')'
        where status in ({open_list})
          and action_id not in (select action_id from marts.repair_actions)
        returning action_id
        """,
        [utc_naive(now)],
    )
    return len(cur.fetchall())


def record_planned(
    con: duckdb.DuckDBPyConnection,
    action: Any,
    *,
    dry_run: bool,
    actor: str,
    now: datetime,
    detail: str | None,
) -> None:
    """Insert a ``planned`` row, or refresh one that is still only planned (never an attempted row)."""
    con.execute(
        f"""
        insert into {LEDGER} (action_id, connection_id, action_type, target_platform, target_id, payload,
            reason_drift_type, requires_approval, source_row, plan_detected_at, status, attempts,
            dry_run, actor, detail, planned_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', 0, ?, ?, ?, ?)
        on conflict (action_id) do update set
            dry_run = excluded.dry_run, actor = excluded.actor, detail = excluded.detail
        where {LEDGER}.status = 'planned'
        """,
        [
            action.action_id,
            action.connection_id,
            action.action_type,
            action.target_platform,
            action.target_id,
            action.payload_text,
            action.reason_drift_type,
            action.requires_approval,
            action.source_row,
            utc_naive(action.detected_at) if action.detected_at else None,
            dry_run,
            actor,
            detail,
            utc_naive(now),
        ],
    )


def record_started(
    con: duckdb.DuckDBPyConnection,
    action: Any,
    *,
    actor: str,
    now: datetime,
    request: Any,
) -> None:
    """The outbox write: the attempt and the request it intends to send, before anything is sent."""
    record_planned(con, action, dry_run=False, actor=actor, now=now, detail=None)
    con.execute(
        f"""
        update {LEDGER}
        set status = 'started', attempts = attempts + 1, dry_run = false, actor = ?, started_at = ?,
            finished_at = null, request = ?, request_digest = ?, response_digest = null,
            platform_request_id = null, result = null, error = null, detail = null
        where action_id = ?
        """,
        [actor, utc_naive(now), canonical(request), digest(request), action.action_id],
    )


def record_outcome(
    con: duckdb.DuckDBPyConnection,
    action_id: str,
    *,
    status: str,
    now: datetime | None,
    request: Any,
    response: Any,
    request_id: str | None,
    result: Any,
    detail: str | None,
    error: str | None,
) -> None:
    """After the call: what was actually sent (may be less than planned), its answer and outcome.

    ``now=None`` leaves ``finished_at`` empty (an attempt whose outcome is unknown is not finished).
    When nothing was sent (skipped after the re-read, refused), the request recorded by
    ``record_started`` stays: it is what the attempt would have sent, and what an earlier attempt
    whose answer was lost did send.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown ledger status {status!r}")
    con.execute(
        f"""
        update {LEDGER}
        set status = ?, finished_at = ?, request = coalesce(?, request),
            request_digest = coalesce(?, request_digest), response_digest = ?,
            platform_request_id = ?, result = ?, detail = ?, error = ?
        where action_id = ?
        """,
        [
            status,
            utc_naive(now) if now else None,
            canonical(request) if request else None,
            digest(request) if request else None,
            digest(response) if response is not None else None,
            request_id,
            canonical(result) if result else None,
            detail,
            error,
            action_id,
        ],
    )


def upsert_alerts(con: duckdb.DuckDBPyConnection, alerts: Sequence[Any], seen_at: datetime) -> None:
    """Alerts are never executed: they land here for a person, first/last seen on the run's clock."""
    if not alerts:
        return
    rows = [
        (
            a.action_id,
            a.connection_id,
            a.reason_drift_type,
            bool(a.money_moving),
            a.payload.get("message"),
            a.target_platform,
            a.target_id,
            a.source_row,
            utc_naive(seen_at),
            utc_naive(seen_at),
        )
        for a in alerts
    ]
    con.executemany(
        f"""
        insert into {ALERTS} (action_id, connection_id, reason_drift_type, money_moving, message,
            target_platform, target_id, source_row, first_seen_at, last_seen_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (action_id) do update set
            last_seen_at = greatest({ALERTS}.last_seen_at, excluded.last_seen_at),
            first_seen_at = least({ALERTS}.first_seen_at, excluded.first_seen_at),
            message = excluded.message, money_moving = excluded.money_moving
        """,
        rows,
    )
