"""The writeback engine: apply the repair plan through the platform APIs, each action at most once.

Idempotency is layered, because no single layer survives every failure:

1. **The plan's ``action_id``** hashes action type + target + desired state, so the same repair
   planned by two builds is the same action, and a changed desired state is a new one.
2. **The ledger** (``ops.writeback_ledger``) is an outbox: ``started`` is written *before* the call
   and ``applied`` / ``skipped`` / ``failed`` after it. An ``applied`` or ``skipped`` action_id is
   never attempted again.
3. **The re-read.** A crash between the call and the ledger write leaves a ``started`` row; the
   next run re-reads the target first and, finding it already in the desired state, records
   ``skipped`` instead of sending again. The same holds when a client raises ``OutcomeUnknown``
   (the answer was lost): the row stays ``started`` and the next run's re-read decides.
4. **Compare-and-set** where the API has it (Shopify inventory: ``compareQuantity``), and on TikTok
   a re-read that must still show the planned-from value: a plan that went stale fails instead of
   overwriting newer data, and the next build re-plans it.

The warehouse is opened only to read the plan and to write ledger rows, never across an API
call: DuckDB has one writer, and an extraction or ``dbt build`` must be able to take it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extract.common.errors import OutcomeUnknown, PlatformError
from orchestration.defs.writeback import ledger
from orchestration.defs.writeback.actions import (
    EXECUTORS,
    Attempt,
    Clients,
    MoneyMovementRefused,
    Outcome,
    requests_for,
)
from orchestration.defs.writeback.plan import EXECUTABLE, ORDER, PlannedAction, read_plan
from shoptok.connections import Connection
from shoptok.settings import load_warehouse_engine

log = logging.getLogger("orchestration.writeback")

#: a failing action is re-attempted on later runs (each attempt re-reads first) up to this many times
MAX_ATTEMPTS = 5
#: report statuses beyond the ledger's: ``held`` = planned but not allowed in this run;
#: ``unknown`` = the answer was lost (ledger row left ``started``); ``done_before`` = applied or
#: skipped by an earlier run; ``gave_up`` = failed MAX_ATTEMPTS times, needs a person
REPORT_STATUSES = ("planned", "held", "applied", "skipped", "failed", "unknown", "done_before", "gave_up")


def resolve_allow(allow: Iterable[str] | None) -> set[str]:
    """The action types a run may execute.

    ``None`` (or empty) allows every type that needs no approval; a list allows exactly those
    types, ``all`` standing for every executable type (an explicit allow, so approval types too).
    """
    if not allow:
        return set()  # resolved per action: no approval needed
    out: set[str] = set()
    for item in allow:
        for name in str(item).split(","):
            name = name.strip()
            if not name:
                continue
            if name == "all":
                out.update(EXECUTABLE)
            elif name in EXECUTABLE:
                out.add(name)
            elif name == "alert":
                raise ValueError("alerts are never executed: they go to ops.alerts for a person")
            else:
                raise ValueError(f"unknown action type {name!r}; expected one of {', '.join(EXECUTABLE)} or 'all'")
    return out


@dataclass
class ActionResult:
    action_id: str
    connection_id: str
    action_type: str
    target_id: str
    status: str
    requires_approval: bool
    detail: str | None = None
    error: str | None = None
    elapsed_s: float = 0.0


@dataclass
class AlertResult:
    action_id: str
    connection_id: str
    reason_drift_type: str
    money_moving: bool
    message: str | None
    target_id: str


@dataclass
class ApplyReport:
    dry_run: bool
    actor: str
    as_of: datetime
    allowed: list[str]
    results: list[ActionResult] = field(default_factory=list)
    alerts: list[AlertResult] = field(default_factory=list)
    superseded: int = 0
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, dict[str, int]]:
        """Per action type: how many actions ended in each report status."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            out.setdefault(r.action_type, dict.fromkeys(REPORT_STATUSES, 0))[r.status] += 1
        return out

    def totals(self) -> dict[str, int]:
        c = Counter(r.status for r in self.results)
        return {s: c.get(s, 0) for s in REPORT_STATUSES}

    @property
    def calls_made(self) -> int:
        return sum(1 for r in self.results if r.status in ("applied", "failed", "unknown"))


def _default_clients(conn: Connection) -> Clients:
    from extract.shopify.client import ShopifyClient
    from extract.tiktok_shop.client import TikTokClient

    return Clients(lambda: ShopifyClient(conn.shopify), lambda: TikTokClient(conn.tiktok))


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def apply_actions(
    warehouse: Path,
    connections: list[Connection],
    *,
    dry_run: bool = True,
    allow: set[str] | None = None,
    actor: str = "cli",
    as_of: datetime,
    crash_after_call: Callable[[PlannedAction, str], None] | None = None,
    clock: Callable[[], datetime] = _wall_clock,
    clients: Callable[[Connection], Clients] = _default_clients,
) -> ApplyReport:
    """Apply the plan in ``warehouse`` for ``connections``; see the module docstring for the guarantees.

    ``as_of`` is the run's clock (alerts are first/last seen at it); ``clock`` stamps the ledger's
    ``*_at`` columns, which say when an attempt really happened (the wall clock, UTC), because
    that is what an audit of API calls needs. ``crash_after_call(action, operation)`` is a test
    hook called right after each successful API call, before the ledger hears of it; whatever it
    raises ends the run as a crash would (``InjectedCrash``).
    """
    if actor not in ledger.ACTORS:
        raise ValueError(f"actor must be one of {ledger.ACTORS}, not {actor!r}")
    allowed = resolve_allow(allow)
    started = time.monotonic()
    report = ApplyReport(dry_run=dry_run, actor=actor, as_of=as_of, allowed=sorted(allowed))
    by_id = {c.id: c for c in connections}

    if not load_warehouse_engine().is_postgres and not Path(warehouse).exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the extraction and `dbt build` first")
    with ledger.run_lock(warehouse, connection_ids=sorted(by_id)):
        _run(warehouse, by_id, report, allowed, dry_run, actor, as_of, crash_after_call, clock, clients)
    report.elapsed_s = time.monotonic() - started
    log.info("writeback (%s, dry_run=%s): %s", actor, dry_run, report.totals())
    return report


def _run(
    warehouse: Path,
    by_id: dict[str, Connection],
    report: ApplyReport,
    allowed: set[str],
    dry_run: bool,
    actor: str,
    as_of: datetime,
    crash_after_call: Callable[[PlannedAction, str], None] | None,
    clock: Callable[[], datetime],
    clients: Callable[[Connection], Clients],
) -> None:
    with ledger.connect(warehouse) as con:
        plan = read_plan(con)
        ledger.ensure_tables(con)
        report.superseded = ledger.supersede(con, clock())
        mine = [a for a in plan if a.connection_id in by_id]
        alerts = [a for a in mine if a.action_type == "alert"]
        ledger.upsert_alerts(con, alerts, as_of)
        actions = sorted(
            (a for a in mine if a.action_type in EXECUTORS),
            key=lambda a: (ORDER.index(a.action_type), a.connection_id, a.target_id, a.action_id),
        )
        existing = ledger.ledger_rows(con, [a.action_id for a in actions])
        todo: list[PlannedAction] = []
        for a in actions:
            row = existing.get(a.action_id)
            status = row["status"] if row else None
            if status in ledger.TERMINAL:
                report.results.append(_result(a, "done_before", detail=f"{status} by an earlier run"))
                continue
            if status == "failed" and row["attempts"] >= MAX_ATTEMPTS:
                report.results.append(_result(a, "gave_up", error=row.get("error")))
                continue
            permitted = a.action_type in allowed if allowed else not a.requires_approval
            if dry_run or not permitted:
                if status in (None, "planned"):
                    hold = None if dry_run else _hold_reason(a)
                    ledger.record_planned(con, a, dry_run=dry_run, actor=actor, now=clock(), detail=hold)
                report.results.append(
                    _result(a, "planned" if dry_run else "held", detail=None if dry_run else _hold_reason(a))
                )
                continue
            todo.append(a)
    report.alerts = [
        AlertResult(
            a.action_id,
            a.connection_id,
            a.reason_drift_type or "",
            a.money_moving,
            a.payload.get("message"),
            a.target_id,
        )
        for a in alerts
    ]

    with ExitStack() as stack:
        pools: dict[str, Clients] = {}

        def pool_of(a: PlannedAction) -> Clients:
            if a.connection_id not in pools:
                pools[a.connection_id] = clients(by_id[a.connection_id])
                stack.callback(pools[a.connection_id].close)
            return pools[a.connection_id]

        report.results.extend(_apply_all(warehouse, todo, pool_of, actor, clock, crash_after_call))


def _hold_reason(a: PlannedAction) -> str:
    if a.requires_approval:
        return f"needs approval: allow {a.action_type} explicitly"
    return f"{a.action_type} is not in this run's allow list"


def _result(a: PlannedAction, status: str, *, detail: str | None = None, error: str | None = None) -> ActionResult:
    return ActionResult(
        a.action_id, a.connection_id, a.action_type, a.target_id, status, a.requires_approval, detail, error
    )


LedgerWrite = Callable[[Any], None]


def _apply_all(
    warehouse: Path,
    todo: list[PlannedAction],
    pool_of: Callable[[PlannedAction], Clients],
    actor: str,
    clock: Callable[[], datetime],
    crash_after_call: Callable[[PlannedAction, str], None] | None,
) -> list[ActionResult]:
    """For each action: outbox write, re-read + call, outcome write. The ledger is closed during calls.

    The outcome of one action and the ``started`` row of the next are written through one
    connection (opening the warehouse costs tens of milliseconds); both happen after the first
    action's call and before the second's, so what a crash can leave behind is unchanged.
    """
    results: list[ActionResult] = []
    pending: LedgerWrite | None = None
    for a in todo:
        began = time.monotonic()
        try:
            planned, bad_payload = requests_for(a), None
        except (KeyError, TypeError, ValueError) as exc:
            planned, bad_payload = [], exc
        with ledger.connect(warehouse) as con:
            if pending is not None:
                pending(con)
                pending = None
            ledger.record_started(con, a, actor=actor, now=clock(), request=planned)
        attempt = Attempt(a, pool_of(a), crash_after_call)
        outcome, status = _attempt(a, attempt, bad_payload)
        pending = _outcome_write(a, attempt, outcome, status, clock)
        log.info("%s %s %s: %s %s", a.action_type, a.connection_id, a.target_id, outcome.status, outcome.error or "")
        result = _result(a, outcome.status, detail=outcome.detail, error=outcome.error)
        result.elapsed_s = time.monotonic() - began
        results.append(result)
    if pending is not None:
        with ledger.connect(warehouse) as con:
            pending(con)
    return results


def _attempt(a: PlannedAction, attempt: Attempt, bad_payload: Exception | None) -> tuple[Outcome, str]:
    """Run the executor; the outcome and the ledger status it maps to (``started`` = outcome unknown)."""
    if bad_payload is not None:
        return Outcome("failed", error=f"payload does not match {a.action_type}: {bad_payload!r}"), "failed"
    try:
        outcome = EXECUTORS[a.action_type](attempt)
    except OutcomeUnknown as exc:
        detail = "the answer was lost; the next run re-reads before any retry"
        return Outcome("unknown", detail=detail, error=str(exc)), "started"
    except (MoneyMovementRefused, PlatformError) as exc:
        outcome = Outcome("failed", error=str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        outcome = Outcome("failed", error=f"payload does not match {a.action_type}: {exc!r}")
    return outcome, outcome.status


def _outcome_write(
    a: PlannedAction, attempt: Attempt, outcome: Outcome, status: str, clock: Callable[[], datetime]
) -> LedgerWrite:
    finished = None if status == "started" else clock()

    def write(con: Any) -> None:
        ledger.record_outcome(
            con,
            a.action_id,
            status=status,
            now=finished,
            request=attempt.sent,
            response=attempt.responses if attempt.sent else None,
            request_id=attempt.request_id,
            result=attempt.result,
            detail=outcome.detail,
            error=outcome.error,
        )

    return write


def alerts_needing_a_person(report: ApplyReport) -> list[AlertResult]:
    """Money alerts first, then the rest, each group by connection and drift type."""
    return sorted(report.alerts, key=lambda x: (not x.money_moving, x.connection_id, x.reason_drift_type, x.target_id))


def summary(report: ApplyReport) -> dict[str, Any]:
    """A JSON-able digest of the run (Dagster metadata, logs)."""
    return {
        "dry_run": report.dry_run,
        "actor": report.actor,
        "as_of": report.as_of.isoformat(),
        "allowed": report.allowed,
        "totals": report.totals(),
        "per_type": report.counts(),
        "superseded": report.superseded,
        "alerts": len(report.alerts),
        "money_alerts": sum(1 for x in report.alerts if x.money_moving),
        "elapsed_s": round(report.elapsed_s, 3),
    }
