"""The merchant generator: determinism, round trips, formulas, and a truth file that is exactly right."""

from __future__ import annotations

import filecmp
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.generator import GeneratorParams, generate
from sandbox.generator.params import MART_DRIFTS
from sandbox.state import ScenarioError, export_state, load_state
from tests.support.oracle import as_set, classify


def _small(seed: int = 42) -> GeneratorParams:
    return GeneratorParams(
        seed=seed, tiktok_orders_per_connection=400, shopify_web_orders_per_connection=150, products_per_connection=40
    )


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _same_tree(a: Path, b: Path) -> bool:
    fa, fb = _files(a), _files(b)
    if fa != fb:
        return False
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in fa], shallow=False)
    return not mismatch and not errors


@pytest.fixture(scope="module")
def default_merchant(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("default")
    state, truth = generate(GeneratorParams())
    export_state(state, out, truth)
    return out


def test_same_seed_gives_byte_identical_export(tmp_path):
    for name in ("a", "b"):
        state, truth = generate(_small())
        export_state(state, tmp_path / name, truth)
    assert _same_tree(tmp_path / "a", tmp_path / "b")


def test_other_seed_gives_other_merchant(tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        state, truth = generate(_small(seed))
        export_state(state, tmp_path / name, truth)
    assert not _same_tree(tmp_path / "a", tmp_path / "b")


def test_export_load_export_round_trip(tmp_path):
    state, truth = generate(_small())
    export_state(state, tmp_path / "first", truth)
    reloaded = load_state(tmp_path / "first")
    export_state(reloaded, tmp_path / "second", truth)
    assert _same_tree(tmp_path / "first", tmp_path / "second")


def test_truth_file_is_exactly_what_the_rules_find(default_merchant):
    truth = [json.loads(line) for line in (default_merchant / "truth.jsonl").read_text().splitlines()]
    found = classify(default_merchant)
    missing = as_set(truth) - as_set(found)
    extra = as_set(found) - as_set(truth)
    table = Counter((m, d, "missed") for m, _, _, d in missing) + Counter((m, d, "extra") for m, _, _, d in extra)
    assert not missing and not extra, f"truth and records disagree: {dict(table)}"


def test_default_merchant_carries_every_contract_drift_type(default_merchant):
    truth = [json.loads(line) for line in (default_merchant / "truth.jsonl").read_text().splitlines()]
    seen = {(r["mart"], r["drift_type"]) for r in truth}
    wanted = {(mart, d) for mart, drifts in MART_DRIFTS.items() for d in drifts}
    assert wanted - seen == set()


def test_every_truth_row_points_at_a_real_entity(default_merchant):
    ids: set[str] = set()
    for path in default_merchant.rglob("*.jsonl"):
        if path.name == "truth.jsonl":
            continue
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            for key in ("id", "return_id", "cancel_id"):
                if key in rec:
                    ids.add(rec[key])
            for sub in ("skus",):
                for s in rec.get(sub, []):
                    ids.add(s["id"])
            for r in rec.get("refunds", []):
                ids.add(r["id"])
            for v in (rec.get("variants") or {}).get("nodes", []):
                ids.add(v["id"])
    truth = [json.loads(line) for line in (default_merchant / "truth.jsonl").read_text().splitlines()]
    for row in truth:
        for field, value in row["key"].items():
            if field != "tiktok_warehouse_id":
                assert value in ids, f"truth row {row} names {field}={value}, which no record has"


def test_money_is_decimal_strings_and_formulas_hold(default_merchant):
    for conn in ("us", "uk"):
        d = default_merchant / conn / "tiktok_shop"
        for line in (d / "orders.jsonl").read_text().splitlines():
            pay = json.loads(line)["payment"]
            assert all(isinstance(v, str) for v in pay.values())
            assert Decimal(pay["total_amount"]) == Decimal(pay["sub_total"]) + Decimal(pay["shipping_fee"]) + Decimal(
                pay["tax"]
            )
        for line in (d / "statement_transactions.jsonl").read_text().splitlines():
            t = json.loads(line)
            dec = {k: Decimal(v) for k, v in t.items() if k.endswith("_amount")}
            assert all(isinstance(t[k], str) and len(t[k].split(".")[1]) == 2 for k in dec)
            if t["type"] == "ORDER":
                revenue = (
                    dec["customer_payment_amount"]
                    + dec["platform_discount_amount"]
                    + dec["platform_discount_refund_amount"]
                    + dec["customer_order_refund_amount"]
                    + dec["shipping_fee_subsidy_amount"]
                )
                assert revenue == dec["revenue_amount"], t["id"]
                fees = (
                    dec["platform_commission_amount"]
                    + dec["referral_fee_amount"]
                    + dec["transaction_fee_amount"]
                    + dec["affiliate_commission_amount"]
                )
                assert fees == dec["fee_amount"], t["id"]
            assert dec["settlement_amount"] == (
                dec["net_sales_amount"] + dec["shipping_cost_amount"] + dec["fee_amount"] + dec["adjustment_amount"]
            ), t["id"]


def test_malformed_scenario_names_file_line_and_field(tmp_path):
    state, truth = generate(_small())
    export_state(state, tmp_path, truth)
    orders = tmp_path / "us" / "tiktok_shop" / "orders.jsonl"
    lines = orders.read_text().splitlines()
    lines[2] = lines[2][:40]
    orders.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"orders\.jsonl:3: invalid JSON"):
        load_state(tmp_path)
    bad = json.loads(lines[1])
    del bad["id"]
    lines[1], lines[2] = json.dumps(bad), lines[3]
    orders.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"orders\.jsonl:2: field 'id' is required"):
        load_state(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["connections"][0]["tiktok_shop"]["app_secret"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ScenarioError, match=r"connections\[0\]\.tiktok_shop: field 'app_secret' is required"):
        load_state(tmp_path)


def test_clean_merchant_has_no_drift(tmp_path):
    params = _small()
    params.drift.scale(0)
    params.drift.min_per_type = 0
    state, truth = generate(params)
    export_state(state, tmp_path, truth)
    assert truth == []
    assert classify(tmp_path) == []
