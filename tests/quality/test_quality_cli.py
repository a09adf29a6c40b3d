"""``shoptok quality`` exit codes: 1 on a blocking failure (a warning alone exits 0), 2 without a warehouse.

The real end-to-end run is in test_quality_clean.py; here ``run_all`` is replaced by canned
outcomes so the gating logic is tested without validating a warehouse again.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from expectations import checks
from shoptok.quality_cli import quality_cmd


def quality_app() -> typer.Typer:
    app = typer.Typer()
    app.command("quality")(quality_cmd)
    app.command("noop")(lambda: None)
    return app


def canned(failing: str | None) -> dict[str, checks.CheckOutcome]:
    out = {}
    for spec in checks.CHECKS:
        ok = spec.name != failing
        meta = {"check": spec.name, "row_count": 3, "failed_expectations": 0 if ok else 1, "failing_examples": {}}
        if not ok:
            meta["failing_examples"] = {"expect_compound_columns_to_be_unique:connection_id,id:key_unique": [{}]}
        meta["data_docs_path"] = f"/docs/{spec.name}.html"
        out[spec.name] = checks.CheckOutcome(ok, spec.blocking, meta)
    return out


@pytest.mark.parametrize(
    ("failing", "exit_code", "summary"),
    [
        ("raw_tiktok_shop_orders_valid", 1, "1 blocking failure(s), 0 warning(s)"),
        ("raw_tiktok_shop_orders_health", 0, "0 blocking failure(s), 1 warning(s)"),
        (None, 0, "0 blocking failure(s), 0 warning(s)"),
    ],
)
def test_exit_code_follows_blocking_failures(failing, exit_code, summary, tmp_path: Path, monkeypatch) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    monkeypatch.setattr(checks, "run_all", lambda *a, **k: canned(failing))
    monkeypatch.setattr(checks, "DEFAULT_DOCS_DIR", tmp_path / "docs")
    result = CliRunner().invoke(
        quality_app(),
        ["quality", "--warehouse", str(warehouse), "--as-of", "2026-11-20T12:00:00Z"],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == exit_code, result.output
    assert summary in result.output
    if failing:
        assert "key_unique" in result.output and f"/docs/{failing}.html" in result.output


def test_without_a_warehouse_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(quality_app(), ["quality", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no warehouse" in result.output
