"""``shoptok repair`` (shoptok/repair_cli.py) on the mini scenario: dry run, apply, refusals."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from sandbox.server import SandboxServer
from sandbox.state import load_state
from shoptok.repair_cli import repair_cmd
from tests.writeback.support import MINI, ledger, write_plan, writes
from tests.writeback.test_engine import INVENTORY_BEFORE, ONE_PASS, PLAN, PRICES_BEFORE

app = typer.Typer()
app.command("repair")(repair_cmd)
app.command("other")(lambda: None)  # two commands, so "repair" is addressed by name as in `shoptok repair`


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["repair", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_dry_run_then_apply(tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    write_plan(wh, PLAN, INVENTORY_BEFORE, PRICES_BEFORE)
    srv = SandboxServer(load_state(MINI)).start()
    srv.ctx.config.tiktok.qps_per_path = 100_000
    try:
        common = ["--warehouse", str(wh), "--sandbox-url", srv.base_url, "--as-of", "2026-11-20T12:00:00Z"]
        code, out = invoke(*common)
        assert code == 0, out
        assert "dry run: nothing called" in out and "statement_mismatch" in out and "about money" in out
        assert writes(srv) == {}
        code, out = invoke(*common, "--apply")
        assert code == 0, out
        assert "held" in out  # cancel and price need approval
        code, out = invoke(*common, "--apply", "--allow", "cancel_shopify_order,set_tiktok_price")
        assert code == 0, out
        assert writes(srv) == ONE_PASS
        assert {r["actor"] for r in ledger(wh).values()} == {"cli"}
        code, out = invoke(*common, "--apply", "--allow", "refund_everyone")
        assert code == 2 and "unknown action type" in out
    finally:
        srv.stop()


def test_missing_warehouse(tmp_path: Path) -> None:
    code, out = invoke("--warehouse", str(tmp_path / "none.duckdb"), "--sandbox-url", "http://127.0.0.1:9")
    assert code == 2 and "no warehouse" in out
