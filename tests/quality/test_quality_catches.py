"""Each suite family catches a deliberately broken copy of the default merchant, and only there.

Every case corrupts a private copy of the built warehouse with SQL, runs the checks that guard
the corrupted table, and asserts that the intended check fails on the intended rule while the
other check on that table still passes. Rules are named by ``meta.rule`` in the suites, which is
the last part of each ``failing_examples`` key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from expectations.checks import CHECKS, CHECKS_BY_NAME, CheckOutcome, run_check, run_checks

pytestmark = pytest.mark.slow


def corrupt(warehouse: Path, *statements: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def run_table(
    table: str, warehouse: Path, as_of, tmp_path: Path, history: Path | None = None
) -> dict[str, CheckOutcome]:
    """Run every check that guards ``table`` in one pass (Data Docs and history in ``tmp_path``)."""
    specs = [spec for spec in CHECKS if spec.table == table]
    history = history or tmp_path / "history.json"
    return run_checks(specs, warehouse, as_of, docs_dir=tmp_path / "docs", history_path=history)


def failed_rules(outcome: CheckOutcome) -> set[str]:
    return {label.rsplit(":", 1)[-1] for label in outcome.metadata.get("failing_examples", {})}


@dataclass(frozen=True)
class Case:
    id: str
    table: str
    sql: tuple[str, ...]
    check: str
    rule: str


ONE_ORDER = "(select min(id) from raw_tiktok_shop.orders)"
ONE_BALANCED = "(select min(tiktok_statement_id) from marts.fct_payout_reconciliation where drift_type = 'balanced')"

CASES = [
    Case(
        "duplicated_key",
        "raw_tiktok_shop.orders",
        (f"insert into raw_tiktok_shop.orders select * from raw_tiktok_shop.orders where id = {ONE_ORDER}",),
        "raw_tiktok_shop_orders_valid",
        "key_unique",
    ),
    Case(
        "null_key",
        "raw_tiktok_shop.statement_transactions",
        (
            "alter table raw_tiktok_shop.statement_transactions alter column id drop not null",
            "update raw_tiktok_shop.statement_transactions set id = null "
            "where id = (select min(id) from raw_tiktok_shop.statement_transactions)",
        ),
        "raw_tiktok_shop_statement_transactions_valid",
        "key_not_null",
    ),
    Case(
        "unknown_order_status",
        "raw_tiktok_shop.orders",
        (f"update raw_tiktok_shop.orders set status = 'TELEPORTED' where id = {ONE_ORDER}",),
        "raw_tiktok_shop_orders_valid",
        "enum",
    ),
    Case(
        "unknown_return_status",
        "raw_tiktok_shop.returns",
        (
            "update raw_tiktok_shop.returns set return_status = 'LOST_IN_SPACE' "
            "where return_id = (select min(return_id) from raw_tiktok_shop.returns)",
        ),
        "raw_tiktok_shop_returns_valid",
        "enum",
    ),
    Case(
        "unknown_shopify_financial_status",
        "raw_shopify.orders",
        (
            "update raw_shopify.orders set display_financial_status = 'MAYBE_PAID' "
            "where id = (select min(id) from raw_shopify.orders)",
        ),
        "raw_shopify_orders_valid",
        "enum",
    ),
    Case(
        "undocumented_adjustment_type",
        "raw_tiktok_shop.statement_transactions",
        (
            "update raw_tiktok_shop.statement_transactions set type = 'MYSTERY_FEE' "
            "where id = (select min(id) from raw_tiktok_shop.statement_transactions)",
        ),
        "raw_tiktok_shop_statement_transactions_health",
        "documented_type",
    ),
    Case(
        "three_decimals_in_usd_gbp",
        "raw_tiktok_shop.statements",
        (
            "alter table raw_tiktok_shop.statements alter column settlement_amount type decimal(18, 3)",
            "update raw_tiktok_shop.statements set settlement_amount = settlement_amount + 0.005 "
            "where id = (select min(id) from raw_tiktok_shop.statements)",
        ),
        "raw_tiktok_shop_statements_valid",
        "money",
    ),
    Case(
        "unparseable_money",
        "raw_shopify.order_transactions",
        (
            "alter table raw_shopify.order_transactions alter column amount type varchar",
            "update raw_shopify.order_transactions set amount = 'twelve' "
            "where id = (select min(id) from raw_shopify.order_transactions)",
        ),
        "raw_shopify_order_transactions_valid",
        "money",
    ),
    Case(
        "statement_does_not_balance_in_mart",
        "marts.fct_payout_reconciliation",
        (
            "update marts.fct_payout_reconciliation set statement_settlement_amount = statement_settlement_amount + 1 "
            f"where tiktok_statement_id = {ONE_BALANCED}",
        ),
        "marts_fct_payout_reconciliation_balances",
        "statement_balances",
    ),
    Case(
        "raw_transaction_edited_after_the_build",
        "marts.fct_payout_reconciliation",
        (
            "update raw_tiktok_shop.statement_transactions set settlement_amount = settlement_amount + 1 "
            "where id = (select min(id) from raw_tiktok_shop.statement_transactions "
            f"where statement_id = {ONE_BALANCED})",
        ),
        "marts_fct_payout_reconciliation_balances",
        "transactions_match_raw",
    ),
    Case(
        "order_date_basis_dropped",
        "marts.rpt_weekly_payout_reconciliation",
        ("delete from marts.rpt_weekly_payout_reconciliation where basis = 'order_date'",),
        "marts_rpt_weekly_payout_reconciliation_both_bases",
        "both_bases",
    ),
    Case(
        "money_moving_on_an_executable_action",
        "marts.repair_actions",
        (
            "update marts.repair_actions set money_moving = true where action_id = "
            "(select min(action_id) from marts.repair_actions where action_type = 'set_tiktok_inventory')",
        ),
        "marts_repair_actions_money_moving",
        "executable_not_money_moving",
    ),
    Case(
        "non_contract_drift_type",
        "marts.fct_inventory_drift",
        (
            "update marts.fct_inventory_drift set drift_type = 'vibes_off' where tiktok_sku_id = "
            "(select min(tiktok_sku_id) from marts.fct_inventory_drift)",
        ),
        "marts_fct_inventory_drift_drift_types",
        "drift_type",
    ),
    Case(
        "non_contract_catalog_violation",
        "marts.dim_catalog_health",
        (
            "update marts.dim_catalog_health set violations = list_append(violations, 'ugly_font') "
            "where shopify_variant_id = (select min(shopify_variant_id) from marts.dim_catalog_health)",
        ),
        "marts_dim_catalog_health_violations",
        "violation",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_suite_catches_its_broken_dataset(case: Case, built_copy: Path, built_merchant, tmp_path: Path) -> None:
    corrupt(built_copy, *case.sql)
    outcomes = run_table(case.table, built_copy, built_merchant.as_of, tmp_path)
    target = outcomes[case.check]
    assert not target.passed, json.dumps(target.metadata, indent=2)[:3000]
    assert target.blocking == CHECKS_BY_NAME[case.check].blocking
    assert case.rule in failed_rules(target), target.metadata["failing_examples"]
    examples = next(v for k, v in target.metadata["failing_examples"].items() if k.endswith(":" + case.rule))
    assert 1 <= len(examples) <= 5
    assert "exception_info" not in target.metadata
    others = {name: o.metadata.get("failing_examples") for name, o in outcomes.items() if name != case.check}
    assert all(o.passed for name, o in outcomes.items() if name != case.check), others
    json.dumps(target.metadata)  # Dagster metadata must be plain JSON


def test_future_timestamp_warns_without_blocking(built_copy: Path, built_merchant, tmp_path: Path) -> None:
    future = built_merchant.as_of + timedelta(days=1)
    corrupt(
        built_copy,
        f"update raw_shopify.orders set updated_at = timestamptz '{future.isoformat()}' "
        "where id = (select min(id) from raw_shopify.orders)",
    )
    outcomes = run_table("raw_shopify.orders", built_copy, built_merchant.as_of, tmp_path)
    health = outcomes["raw_shopify_orders_health"]
    assert not health.passed and not health.blocking
    assert failed_rules(health) == {"not_after_as_of"}
    [example] = health.metadata["failing_examples"]["expect_column_values_to_be_between:updated_at:not_after_as_of"]
    assert example["updated_at"].startswith(future.date().isoformat())
    assert outcomes["raw_shopify_orders_valid"].passed


def test_row_count_drop_between_runs(built_copy: Path, built_merchant, tmp_path: Path) -> None:
    """The first run records the count; a shrink past the suite's ratio fails the next run, once."""
    history = tmp_path / "row_counts.json"
    spec = CHECKS_BY_NAME["raw_tiktok_shop_products_health"]
    first = run_check(spec, built_copy, built_merchant.as_of, docs_dir=tmp_path / "docs", history_path=history)
    assert first.passed and first.metadata["previous_row_count"] is None
    recorded = json.loads(history.read_text())[str(built_copy.resolve())]["raw_tiktok_shop.products"]["rows"]
    assert recorded == first.metadata["row_count"] > 10

    corrupt(built_copy, "delete from raw_tiktok_shop.products where hash(id) % 10 < 6")
    second = run_check(spec, built_copy, built_merchant.as_of, docs_dir=tmp_path / "docs", history_path=history)
    assert not second.passed and not second.blocking
    assert failed_rules(second) == {"row_count_drop"}
    assert second.metadata["previous_row_count"] == recorded
    assert second.metadata["row_count"] < recorded * 0.5

    third = run_check(spec, built_copy, built_merchant.as_of, docs_dir=tmp_path / "docs", history_path=history)
    assert third.passed, "the drop is reported on the run where it happens, not forever"


def test_quarantine_share_over_threshold(built_copy: Path, built_merchant, tmp_path: Path) -> None:
    corrupt(
        built_copy,
        "create table raw_tiktok_shop.quarantine (connection_id varchar, entity varchar, record_hash varchar, "
        "record_key varchar, field varchar, reason varchar, payload varchar, last_seen_at timestamptz)",
        "insert into raw_tiktok_shop.quarantine select 'us', 'orders', 'h' || i, 'o' || i, 'status', "
        "'unknown enum', '{}', now() from range(40) as t(i)",
    )
    outcomes = run_table("raw_tiktok_shop.orders", built_copy, built_merchant.as_of, tmp_path)
    health = outcomes["raw_tiktok_shop_orders_health"]
    assert not health.passed
    assert failed_rules(health) == {"quarantine_share"}
    assert health.metadata["quarantined_records"] == 40
    assert outcomes["raw_tiktok_shop_orders_valid"].passed


def test_an_expectation_that_raises_is_a_failure(built_copy: Path, built_merchant, tmp_path: Path) -> None:
    corrupt(built_copy, "alter table raw_tiktok_shop.orders drop column status")
    outcomes = run_table("raw_tiktok_shop.orders", built_copy, built_merchant.as_of, tmp_path)
    valid = outcomes["raw_tiktok_shop_orders_valid"]
    assert not valid.passed
    [raised] = valid.metadata["exception_info"]
    assert raised["expectation"] == "expect_column_values_to_be_in_set:status:enum"
    assert "status" in raised["message"]
    assert outcomes["raw_tiktok_shop_orders_health"].passed


def test_a_missing_table_is_a_failure(built_copy: Path, built_merchant, tmp_path: Path) -> None:
    corrupt(built_copy, "drop table raw_tiktok_shop.payments")
    outcomes = run_table("raw_tiktok_shop.payments", built_copy, built_merchant.as_of, tmp_path)
    assert set(outcomes) == {"raw_tiktok_shop_payments_valid", "raw_tiktok_shop_payments_health"}
    for outcome in outcomes.values():
        assert not outcome.passed
        assert "payments" in outcome.metadata["exception_info"][0]["message"]
