"""The committed GX context matches its generator, covers every raw source, and the rules hold.

These run without a warehouse: the money rule, exception detection and the catalog are unit
tested here; the generator comparison keeps hand edits out of the committed JSON.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import yaml

from expectations import checks
from expectations.checks import CHECKS, CONTEXT_DIR, money_text

PROJECT = CONTEXT_DIR.parent


def test_checks_guard_every_dbt_source_and_every_contract_mart() -> None:
    sources = set()
    for path in (PROJECT / "dbt_project" / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                sources.add(tuple(table["meta"]["dagster"]["asset_key"]))
    guarded = {c.asset_key for c in CHECKS}
    assert sources <= guarded, sources - guarded
    marts = {p.stem for p in (PROJECT / "dbt_project" / "models" / "marts").glob("*.sql")}
    assert {("marts", m) for m in marts} <= guarded
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9_]+", n) for n in names)
    for spec in CHECKS:
        assert spec.table == ".".join(spec.asset_key)


def test_blocking_follows_the_documented_policy() -> None:
    blocking = {c.name for c in CHECKS if c.blocking}
    for required in (
        "raw_tiktok_shop_orders_valid",
        "raw_tiktok_shop_statements_valid",
        "raw_tiktok_shop_statement_transactions_valid",
        "raw_shopify_orders_valid",
        "raw_shopify_order_transactions_valid",
        "marts_fct_payout_reconciliation_balances",
        "marts_repair_actions_money_moving",
        "marts_fct_order_reconciliation_drift_types",
        "marts_fct_inventory_drift_drift_types",
        "marts_fct_refund_reconciliation_drift_types",
        "marts_fct_payout_reconciliation_drift_types",
    ):
        assert required in blocking
    assert not any(c.blocking for c in CHECKS if c.name.endswith("_health"))
    assert "marts_rpt_weekly_payout_reconciliation_both_bases" not in blocking


def test_committed_suites_match_the_generator(tmp_path: Path) -> None:
    from expectations import suites

    suites.generate(tmp_path)
    fresh, committed = suites.files(tmp_path), suites.files(CONTEXT_DIR)
    assert fresh.keys() == committed.keys()
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run `python -m expectations.suites` and commit: {stale[:5]}"


def test_catalog_violation_contract_is_the_documented_list() -> None:
    from expectations.suites import CATALOG_VIOLATIONS

    doc = (PROJECT / "docs" / "marts.md").read_text()
    section = doc[doc.index("## `dim_catalog_health`") :].split("\n## ")[0]
    listed = re.search(r"`violations` \((.*?)\)", section, re.S).group(1)
    assert set(re.findall(r"`([a-z_]+)`", listed)) == set(CATALOG_VIOLATIONS)


def test_money_rule() -> None:
    from expectations.suites import MONEY_REGEX

    rule = re.compile(MONEY_REGEX)

    def ok(currency: str, value: object) -> bool:
        return bool(rule.match(f"{currency}:{money_text(value)}"))

    assert ok("USD", Decimal("12.30")) and ok("GBP", Decimal("-0.05")) and ok("USD", Decimal("100"))
    assert ok("USD", Decimal("1.5000"))  # a wider DECIMAL scale with trailing zeros is still 1.5
    assert not ok("USD", Decimal("1.005")) and not ok("GBP", 0.1 + 0.2) and not ok("USD", "twelve")
    assert not ok("USD", "1e5") and not ok("USD", float("nan")) and not ok("", Decimal("1.00"))
    assert ok("JPY", Decimal("100.00")) and not ok("JPY", Decimal("100.5")) and ok("KWD", Decimal("1.234"))
    assert money_text(None) is None


def _result(exception_info: dict) -> SimpleNamespace:
    return SimpleNamespace(exception_info=exception_info)


def test_raised_exceptions_are_found_in_both_shapes_gx_reports() -> None:
    flat = {"raised_exception": True, "exception_message": "boom", "exception_traceback": "tb"}
    per_metric = {"MetricConfigurationID(...)": {"raised_exception": True, "exception_message": "missing column"}}
    clean = {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    assert checks._exception(_result(flat))["message"] == "boom"
    assert checks._exception(_result(per_metric))["message"] == "missing column"
    assert checks._exception(_result(clean)) is None
    assert checks._exception(_result({})) is None


def test_money_only_columns_are_read_as_text_alone(tmp_path: Path) -> None:
    """A DECIMAL column that only the money rule reads comes as its text; its Decimal objects are not fetched."""
    import duckdb

    context = checks._context(tmp_path / "docs")
    spec = next(c for c in CHECKS if c.name == "raw_tiktok_shop_statement_transactions_valid")
    money_only = checks._money_only_columns(context, [spec])
    assert "settlement_amount" in money_only
    assert not money_only & set(checks._FRAMES[spec.name].keys), "key columns are read as they are"
    con = duckdb.connect()
    con.execute("create table t as select 'c1' as connection_id, 1.50::decimal(18, 4) as amount, 2 as n")
    text_only = checks._pruned_sql(con, "select * from t", {"connection_id", "amount", "n"}, {"amount"})
    both = checks._pruned_sql(con, "select * from t", {"connection_id", "amount", "n"})
    helper = checks.MONEY_TEXT_PREFIX + "amount"
    assert [d[0] for d in con.execute(text_only).description] == ["connection_id", helper, "n"]
    assert [d[0] for d in con.execute(both).description] == ["connection_id", "amount", helper, "n"]
    assert con.execute(text_only).fetchall() == [("c1", "1.5", 2)]


def test_a_run_lets_go_of_the_frames_it_validated(tmp_path: Path) -> None:
    """GX keeps every batch and metric it computed unless told; a run must not carry one table's frame into the next."""
    import pandas as pd

    context = checks._context(tmp_path / "docs")
    spec = next(c for c in CHECKS if c.name == "raw_config_warehouses_valid")
    frame = pd.DataFrame({"connection_id": ["us"], "tiktok_warehouse_id": ["w1"]})
    read = checks._Read(frame)
    checks._validate(context, spec, read, checks._normalise(checks.datetime.now(checks.UTC)), None, None)
    engine = context.data_sources.all()["warehouse"]._execution_engine
    assert engine.batch_manager.batch_data_cache, "GX kept the batch (else this test checks nothing)"
    checks._release_batches(context)
    assert not engine.batch_manager.batch_data_cache
    assert not engine._metric_cache
