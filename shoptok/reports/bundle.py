"""Every report in one call, for callers that want "the reports" (the demo, a weekly job).

The demo lists what it wrote, and a weekly Dagster run may prefer one asset for all files; both
need the same set in the same place, so the set is defined once here.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shoptok.reports.catalog import write_catalog_report
from shoptok.reports.drift import write_drift_report
from shoptok.reports.payouts import BASES, write_payout_report


def write_all_reports(
    warehouse: Path,
    out_dir: Path,
    *,
    week: str | None = None,
    connection: str | None = None,
    as_of: datetime | None = None,
) -> list[Path]:
    """Payouts on both bases for ``week`` (default: last complete week), catalog and drift; returns the paths."""
    paths: list[Path] = []
    for basis in BASES:
        paths += write_payout_report(
            warehouse, out_dir, week=week, basis=basis, connection=connection, as_of=as_of
        ).paths
    paths += write_catalog_report(warehouse, out_dir, connection=connection, as_of=as_of).paths
    paths += write_drift_report(warehouse, out_dir, connection=connection, as_of=as_of).paths
    return paths
