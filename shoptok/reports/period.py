"""Report periods are whole ISO weeks, because the weekly mart is the unit finance ties out on.

``rpt_weekly_payout_reconciliation`` buckets by ``date_trunc('week', ...)`` (Monday-start ISO
weeks), so a period that cut a week in half could never tie to the mart to the cent. ``--from`` /
``--to`` therefore widen to the ISO weeks that contain them, and the report says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shoptok.reports._db import monday

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


def iso_week_label(week_start: date) -> str:
    year, week, _ = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str) -> date:
    """The Monday of ``2026-W47`` (or of the ISO week containing a date such as ``2026-11-16``).

    Dates are accepted so a Dagster weekly partition key can be passed through unchanged.
    """
    match = _WEEK.match(value)
    if match:
        year, week = int(match.group(1)), int(match.group(2))
        try:
            return date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise ValueError(f"{value!r}: ISO year {year} has no week {week}") from exc
    try:
        return monday(date.fromisoformat(value.strip()[:10]))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an ISO week (2026-W47) or a date (2026-11-16)") from exc


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise ValueError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Period:
    """Inclusive range of ISO weeks, identified by their Mondays."""

    first_week: date
    last_week: date

    def __post_init__(self) -> None:
        if self.first_week.weekday() or self.last_week.weekday():
            raise ValueError("a period starts and ends on Mondays")
        if self.last_week < self.first_week:
            raise ValueError(f"period ends ({self.last_week}) before it starts ({self.first_week})")

    @property
    def start(self) -> date:
        return self.first_week

    @property
    def end_exclusive(self) -> date:
        return self.last_week + timedelta(days=7)

    @property
    def end_inclusive(self) -> date:
        return self.end_exclusive - timedelta(days=1)

    @property
    def label(self) -> str:
        first, last = iso_week_label(self.first_week), iso_week_label(self.last_week)
        return first if first == last else f"{first}_to_{last}"

    @property
    def title(self) -> str:
        first, last = iso_week_label(self.first_week), iso_week_label(self.last_week)
        span = f"{self.start:%d %b %Y} – {self.end_inclusive:%d %b %Y}"
        return f"{first} ({span})" if first == last else f"{first} to {last} ({span})"

    def weeks(self) -> list[date]:
        n = (self.last_week - self.first_week).days // 7 + 1
        return [self.first_week + timedelta(days=7 * i) for i in range(n)]

    def __contains__(self, week_start: object) -> bool:
        return isinstance(week_start, date) and self.first_week <= week_start <= self.last_week


def resolve_period(
    week: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    *,
    as_of: datetime | None = None,
) -> Period:
    """``--week``, else ``--from``/``--to``, else the last complete ISO week before ``as_of``.

    The default is last week because that is the week finance closes on Monday; ``as_of`` is the
    clock of the run that built the warehouse, so the default never depends on the wall clock.
    """
    if week and (date_from or date_to):
        raise ValueError("use --week or --from/--to, not both")
    if week:
        start = parse_week(week)
        return Period(start, start)
    if date_from or date_to:
        first = _parse_date(date_from, "--from") if date_from else None
        last = _parse_date(date_to, "--to") if date_to else None
        if first is None or last is None:
            raise ValueError("--from and --to go together")
        if last < first:
            raise ValueError(f"--to {last} is before --from {first}")
        return Period(monday(first), monday(last))
    if as_of is None:
        raise ValueError("no period given and no clock to pick last week from")
    this_week = monday(as_of.date())
    last = this_week - timedelta(days=7)
    return Period(last, last)
