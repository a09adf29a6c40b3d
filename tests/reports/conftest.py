"""Fixtures for the report tests: headless Chromium (installed here when missing) and report runs.

The HTML report must render in a real browser, not just parse: the screenshot test drives Debian's
``chromium`` package. It is installed by this test setup (the machine and CI run as root and reach
Debian's archive), so a fresh checkout needs nothing beyond ``make test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def ensure_chromium() -> Path:
    """Path of a Chromium binary; ``apt-get install chromium`` first when none is installed."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError("chromium is not installed and this test setup can only install it as root with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd, timeout in ((["apt-get", "update"], 900), (["apt-get", "install", "-y", "chromium"], 1800)):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise RuntimeError("apt-get install chromium finished but no chromium binary was found")


@pytest.fixture(scope="session")
def chromium() -> Path:
    return ensure_chromium()


# --------------------------------------------------------------------------- report fixtures


@dataclass(frozen=True)
class FullPeriod:
    """Every week the weekly mart has (both bases), as --from/--to strings."""

    date_from: str
    date_to: str
    first_week: date
    last_week: date


@pytest.fixture(scope="session")
def full_period(built_merchant) -> FullPeriod:
    import duckdb

    con = duckdb.connect(str(built_merchant.warehouse), read_only=True)
    try:
        first, last = con.execute(
            "select min(week_start), max(week_start) from marts.rpt_weekly_payout_reconciliation"
        ).fetchone()
    finally:
        con.close()
    return FullPeriod(first.isoformat(), (last + timedelta(days=6)).isoformat(), first, last)


@pytest.fixture(scope="session")
def payout_reports(built_merchant, full_period, tmp_path_factory) -> dict:
    """The payout report over the whole history, once per basis: {basis: (PayoutReport, PayoutData)}."""
    from shoptok.reports.payouts import BASES, load_payout_data, write_payout_report

    out = tmp_path_factory.mktemp("payout_reports")
    built = {}
    for basis in BASES:
        report = write_payout_report(
            built_merchant.warehouse, out, date_from=full_period.date_from, date_to=full_period.date_to, basis=basis
        )
        data = load_payout_data(
            built_merchant.warehouse, basis=basis, date_from=full_period.date_from, date_to=full_period.date_to
        )
        built[basis] = (report, data)
    return built


if __name__ == "__main__":  # pragma: no cover - lets a developer pre-install: python tests/reports/conftest.py
    print(ensure_chromium())
