"""Report periods are whole ISO weeks (what the weekly mart buckets by), parsed from what people type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shoptok.reports._format import excel_money_format, money
from shoptok.reports.period import Period, iso_week_label, parse_week, resolve_period


@pytest.mark.parametrize(
    ("text", "monday"),
    [
        ("2026-W47", date(2026, 11, 16)),
        ("2026w47", date(2026, 11, 16)),
        ("2026-W01", date(2025, 12, 29)),  # ISO week 1 of 2026 starts in December 2025
        ("2026-11-22", date(2026, 11, 16)),  # a Sunday: its ISO week
        ("2026-11-16", date(2026, 11, 16)),  # a Dagster weekly partition key
    ],
)
def test_parse_week(text, monday):
    assert parse_week(text) == monday


@pytest.mark.parametrize("text", ["2026-W54", "W47", "last week", "2026-13-01"])
def test_parse_week_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_week(text)


def test_from_to_widen_to_whole_iso_weeks():
    p = resolve_period(date_from="2026-11-04", date_to="2026-11-18")
    assert (p.first_week, p.last_week) == (date(2026, 11, 2), date(2026, 11, 16))
    assert p.label == "2026-W45_to_2026-W47"
    assert [iso_week_label(w) for w in p.weeks()] == ["2026-W45", "2026-W46", "2026-W47"]
    assert date(2026, 11, 9) in p and date(2026, 11, 23) not in p


def test_default_is_the_last_complete_week_before_the_clock():
    assert resolve_period(as_of=datetime(2026, 11, 20, 12, tzinfo=UTC)) == Period(date(2026, 11, 9), date(2026, 11, 9))
    # on a Monday the week that just ended is reported
    assert resolve_period(as_of=datetime(2026, 11, 23, 0, 5, tzinfo=UTC)).label == "2026-W47"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"week": "2026-W47", "date_from": "2026-11-01", "date_to": "2026-11-30"},
        {"date_from": "2026-11-01"},
        {"date_from": "2026-11-30", "date_to": "2026-11-01"},
        {},
    ],
)
def test_conflicting_or_incomplete_options_are_refused(kwargs):
    with pytest.raises(ValueError):
        resolve_period(**kwargs)


def test_money_formats():
    assert money(Decimal("-1234.5"), "USD") == "−$1,234.50"
    assert money(Decimal("0"), "GBP") == "£0.00"
    assert money(Decimal("12"), "SEK") == "12.00 SEK"
    assert excel_money_format("USD").startswith("$#,##0.00")
    assert excel_money_format("GBP").startswith("£#,##0.00")
