"""Finance and analyst outputs: the payout workbook + HTML, catalog and drift reports, the analyst copy.

Everything here reads the warehouse read-only and only through the marts' public contract (plus
one intermediate view for statement lines), so a report can never change what it reports on.
Each builder is a plain function returning the paths it wrote: the CLI (``shoptok report ...``)
and the Dagster assets call the same functions, so a file finance opens on Monday is the file the
schedule produced.
"""

from shoptok.reports.analyst_copy import default_analyst_copy_path, publish_analyst_copy
from shoptok.reports.bundle import write_all_reports
from shoptok.reports.catalog import CatalogReport, write_catalog_report
from shoptok.reports.drift import DriftReport, write_drift_report
from shoptok.reports.payouts import PayoutReport, write_payout_report

__all__ = [
    "CatalogReport",
    "DriftReport",
    "PayoutReport",
    "default_analyst_copy_path",
    "publish_analyst_copy",
    "write_all_reports",
    "write_catalog_report",
    "write_drift_report",
    "write_payout_report",
]
