"""``shoptok report ...`` options parse as the issue spells them and write the files they promise."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shoptok.reports.cli import report_app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_payouts_with_week_basis_connection_and_out(built_merchant, tmp_path):
    result = runner.invoke(
        report_app,
        [
            "payouts",
            "--week",
            "2026-W45",
            "--basis",
            "order_date",
            "--connection",
            "uk",
            "--out",
            str(tmp_path),
            "--warehouse",
            str(built_merchant.warehouse),
            "--as-of",
            "2026-11-20T12:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "payouts_2026-W45_order_date_uk.xlsx").exists()
    assert (tmp_path / "payouts_2026-W45_order_date_uk.html").exists()


def test_payouts_from_to(built_merchant, tmp_path):
    result = runner.invoke(
        report_app,
        [
            "payouts",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
            "--out",
            str(tmp_path),
            "--warehouse",
            str(built_merchant.warehouse),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "payouts_2026-W40_to_2026-W44_settlement_date.xlsx").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--week", "2026-W47", "--from", "2026-11-01", "--to", "2026-11-30"],
        ["--week", "2026-W99"],
        ["--basis", "cash"],
    ],
)
def test_payouts_refuses_bad_options(built_merchant, tmp_path, args):
    result = runner.invoke(
        report_app, ["payouts", *args, "--out", str(tmp_path), "--warehouse", str(built_merchant.warehouse)]
    )
    assert result.exit_code == 2, result.output
    assert not list(tmp_path.iterdir())


def test_missing_warehouse_is_a_clear_error(tmp_path):
    result = runner.invoke(
        report_app, ["catalog", "--warehouse", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "warehouse not found" in result.output


def test_catalog_drift_and_analyst_copy(built_merchant, tmp_path):
    wh = str(built_merchant.warehouse)
    assert runner.invoke(report_app, ["catalog", "--warehouse", wh, "--out", str(tmp_path)]).exit_code == 0
    assert (
        runner.invoke(report_app, ["drift", "--warehouse", wh, "--out", str(tmp_path), "--connection", "us"]).exit_code
        == 0
    )
    target = tmp_path / "copy.duckdb"
    result = runner.invoke(report_app, ["analyst-copy", "--warehouse", wh, "--target", str(target)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    day = f"{built_merchant.as_of:%Y-%m-%d}"
    assert names == sorted(
        [
            f"catalog_{day}.csv",
            f"catalog_{day}.html",
            f"drift_{day}_us.csv",
            f"drift_{day}_us.html",
            f"drift_{day}_us_summary.csv",
            "copy.duckdb",
        ]
    )


def test_write_all_reports_for_the_demo(built_merchant, tmp_path):
    from shoptok.reports.bundle import write_all_reports

    paths = write_all_reports(built_merchant.warehouse, tmp_path)
    assert len(paths) == 9 and all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert sorted(paths) == sorted(tmp_path.iterdir())
