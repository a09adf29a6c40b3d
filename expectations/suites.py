"""Generate the GX File Data Context's suites, validation definitions and checkpoints from code.

Run ``python -m expectations.suites`` after changing a rule or a documented value set, and commit
the files it writes. Generating rather than hand-editing JSON keeps the rules next to where the
value sets already live: the enum sets, primary keys, money and timestamp columns are read from
the extractors (``extract.*.settings``, ``extract.tiktok_shop.source.COLUMNS``,
``extract.shopify.rows.TABLES``), the drift-type and action-type contracts from the marts' dbt
``accepted_values``. ``tests/quality`` regenerates into a temporary directory and compares, so
the committed files cannot drift from this module. Object ids are derived from names (uuid5), so
regenerating an unchanged rule set gives byte-identical files.

Expectations carry ``meta.rule`` (``key_not_null``, ``enum``, ``money``…): the runtime
uses it to find money columns and to label failures.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from expectations.checks import (
    _FRAMES,
    BATCH_DEFINITION,
    CHECKS,
    CONTEXT_DIR,
    DATASOURCE,
    DRIFT_MARTS,
    SITE_NAME,
    CheckSpec,
    RawTable,
)
from extract.common.coerce import MINOR_UNITS

PROJECT_ROOT = CONTEXT_DIR.parent
MARTS_DIR = PROJECT_ROOT / "dbt_project" / "models" / "marts"
#: committed parts of the context that this module owns (great_expectations.yml is hand-written)
GENERATED = ("expectations", "validation_definitions", "checkpoints")
_NAMESPACE = uuid.UUID("5b0f6a52-3c59-4d6e-9a55-6b0e2f7c1d10")

#: defaults written into each raw health suite's meta (tune per suite there, then regenerate)
MAX_ROW_DROP_RATIO = 0.5
MAX_QUARANTINE_SHARE = 0.01

CURRENCY_CODE = r"^[A-Z]{3}$"


def money_regex(minor_units: dict[str, int]) -> str:
    """``<currency>:<plain decimal>`` with at most the currency's minor units (2 unless listed).

    A plain decimal is the extractors' money rule (extract/common/coerce.py): optional minus,
    digits, optional fraction; no exponent, no NaN. A missing currency never matches.
    """
    by_places: dict[int, list[str]] = {}
    for code, places in sorted(minor_units.items()):
        if places != 2:
            by_places.setdefault(places, []).append(code)
    listed = sorted(code for codes in by_places.values() for code in codes)
    amount = r"-?\d{1,15}"
    parts = [
        f"(?:{'|'.join(codes)}):{amount}" + (rf"(?:\.\d{{1,{places}}})?" if places else "")
        for places, codes in sorted(by_places.items())
    ]
    others = f"(?!(?:{'|'.join(listed)}):)" if listed else ""
    parts.append(rf"{others}[A-Z]{{3}}:{amount}(?:\.\d{{1,2}})?")
    return "^(?:" + "|".join(parts) + ")$"


MONEY_REGEX = money_regex(MINOR_UNITS)

#: dim_catalog_health.violations, the contract list in docs/marts.md (no dbt accepted_values for a list)
CATALOG_VIOLATIONS = (
    "title_too_long",
    "title_too_short",
    "missing_image",
    "missing_weight",
    "zero_weight",
    "missing_dimensions",
    "missing_sku",
    "duplicate_sku",
    "price_mismatch",
    "title_diverged",
    "not_listed_on_tiktok",
    "tiktok_status_failed",
    "tiktok_status_draft",
)


# --------------------------------------------------------------------------- where the rules come from


@dataclass(frozen=True)
class RawRules:
    """What the extractors declare about a raw table."""

    keys: tuple[str, ...]
    money: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    enums: tuple[tuple[str, frozenset[str]], ...] = ()
    open_enums: tuple[tuple[str, frozenset[str]], ...] = ()


def _enums() -> dict[tuple[str, str], dict[str, frozenset[str]]]:
    """Documented value sets per (schema, table) → column, from the extractors' settings."""
    from extract.shopify import settings as sh
    from extract.tiktok_shop import settings as tt

    return {
        ("raw_tiktok_shop", "orders"): {"status": tt.ORDER_STATUSES},
        ("raw_tiktok_shop", "order_line_items"): {
            "display_status": tt.LINE_DISPLAY_STATUSES,
            "package_status": tt.PACKAGE_STATUSES,
        },
        ("raw_tiktok_shop", "products"): {"status": tt.PRODUCT_STATUSES},
        ("raw_tiktok_shop", "returns"): {
            "return_type": tt.RETURN_TYPES,
            "return_status": tt.RETURN_STATUSES,
            "role": tt.AFTERSALE_ROLES,
        },
        ("raw_tiktok_shop", "cancellations"): {
            "cancel_type": tt.CANCEL_TYPES,
            "cancel_status": tt.CANCEL_STATUSES,
            "role": tt.AFTERSALE_ROLES,
        },
        ("raw_tiktok_shop", "statements"): {"payment_status": tt.PAYMENT_STATUSES},
        ("raw_tiktok_shop", "payments"): {"status": tt.PAYMENT_STATUSES},
        ("raw_shopify", "orders"): {
            "display_financial_status": sh.FINANCIAL_STATUSES,
            "display_fulfillment_status": sh.FULFILLMENT_STATUSES,
            "return_status": sh.RETURN_STATUSES,
            "cancel_reason": sh.CANCEL_REASONS,
        },
        ("raw_shopify", "order_refund_line_items"): {"restock_type": sh.RESTOCK_TYPES},
        ("raw_shopify", "order_refund_transactions"): {
            "kind": sh.TRANSACTION_KINDS,
            "status": sh.TRANSACTION_STATUSES,
        },
        ("raw_shopify", "order_transactions"): {"kind": sh.TRANSACTION_KINDS, "status": sh.TRANSACTION_STATUSES},
        ("raw_shopify", "order_fulfillments"): {"status": sh.FULFILLMENT_STATUS_VALUES},
        ("raw_shopify", "order_fulfillment_orders"): {"status": sh.FULFILLMENT_ORDER_STATUSES},
        ("raw_shopify", "products"): {"status": sh.PRODUCT_STATUSES},
        ("raw_shopify", "product_variants"): {"weight_unit": sh.WEIGHT_UNITS},
    }


def raw_rules() -> dict[tuple[str, str], RawRules]:
    """Keys, money and event-time columns of every raw table, as the extractors declare them.

    Deadlines (``*_sla_time``) are legitimately in the future and are not event times.
    """
    from extract.shopify.rows import TABLES
    from extract.tiktok_shop import settings as tt
    from extract.tiktok_shop.source import COLUMNS, PRIMARY_KEYS

    enums = _enums()
    rules: dict[tuple[str, str], RawRules] = {}

    def typed(columns: dict[str, dict[str, Any]], kind: str) -> tuple[str, ...]:
        return tuple(c for c, hint in columns.items() if hint.get("data_type") == kind)

    def times(columns: dict[str, dict[str, Any]]) -> tuple[str, ...]:
        return tuple(c for c in typed(columns, "timestamp") if not c.endswith("_sla_time"))

    for table, columns in COLUMNS.items():
        key = ("raw_tiktok_shop", table)
        open_enums = (("type", tt.TRANSACTION_TYPES),) if table == "statement_transactions" else ()
        rules[key] = RawRules(
            tuple(PRIMARY_KEYS[table]),
            typed(columns, "decimal"),
            times(columns),
            tuple(sorted(enums.get(key, {}).items())),
            open_enums,
        )
    for table, spec in TABLES.items():
        key = ("raw_shopify", table)
        rules[key] = RawRules(
            tuple(spec.primary_key),
            typed(spec.columns, "decimal"),
            times(spec.columns),
            tuple(sorted(enums.get(key, {}).items())),
        )
    rules[("raw_config", "connections")] = RawRules(("connection_id",))
    rules[("raw_config", "warehouses")] = RawRules(("connection_id", "tiktok_warehouse_id"))
    return rules


def accepted_values(model: str, column: str) -> list[str]:
    """A mart column's ``accepted_values`` from its dbt yml: the contract, typed once."""
    doc = yaml.safe_load((MARTS_DIR / f"{model}.yml").read_text())
    for m in doc["models"]:
        if m["name"] != model:
            continue
        for col in m["columns"]:
            if col["name"] != column:
                continue
            for test in col.get("data_tests") or col.get("tests") or []:
                if isinstance(test, dict) and "accepted_values" in test:
                    spec = test["accepted_values"]
                    return list(spec.get("arguments", spec)["values"])
    raise LookupError(f"no accepted_values for {model}.{column}")


# --------------------------------------------------------------------------- the suites


def _e(kind: str, rule: str, description: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """One expectation; ``description`` replaces GX's rendered sentence where that would be opaque."""
    return {"type": kind, "rule": rule, "description": description, "kwargs": kwargs}


def _raw_valid(t: RawTable, rules: RawRules) -> list[dict[str, Any]]:

    out = [_e("ExpectColumnValuesToNotBeNull", "key_not_null", column=k) for k in rules.keys]
    if len(rules.keys) > 1:
        out.append(_e("ExpectCompoundColumnsToBeUnique", "key_unique", column_list=list(rules.keys)))
    else:
        out.append(_e("ExpectColumnValuesToBeUnique", "key_unique", column=rules.keys[0]))
    for column, values in rules.enums:
        out.append(_e("ExpectColumnValuesToBeInSet", "enum", column=column, value_set=sorted(values)))
    for column in rules.money:
        # the runtime hands money in as "<currency>:<amount>" text; one regex then holds every
        # amount to its currency's minor units (USD/GBP: at most 2 decimals) with no row_condition,
        # which in GX 1.24 costs ~5x the expectation itself (39 money columns on transactions)
        out.append(
            _e(
                "ExpectColumnValuesToMatchRegex",
                "money",
                f"{column} is a plain decimal amount with at most its currency's minor units (USD, GBP: 2 decimals).",
                column=column,
                regex=MONEY_REGEX,
            )
        )
    if t.table == "connections":
        for column in ("shopify_currency", "tiktok_currency"):
            out.append(_e("ExpectColumnValuesToMatchRegex", "currency_code", column=column, regex=CURRENCY_CODE))
    return out


def _raw_health(t: RawTable, rules: RawRules) -> list[dict[str, Any]]:
    out = [
        _e(
            "ExpectTableRowCountToBeBetween",
            "row_count_drop",
            f"The row count has not dropped by more than {MAX_ROW_DROP_RATIO:.0%} since the previous run "
            "(the floor comes from the row-count history).",
            min_value={"$PARAMETER": "min_row_count"},
        )
    ]
    if t.quarantined:
        out.append(
            _e(
                "ExpectTableRowCountToBeBetween",
                "quarantine_share",
                f"Quarantined {t.table} records are at most {MAX_QUARANTINE_SHARE:.0%} of all {t.table} records "
                "(rows ≥ quarantined × (1 − share) / share).",
                min_value={"$PARAMETER": "min_rows_for_quarantine_share"},
            )
        )
    for column in rules.times:
        out.append(
            _e("ExpectColumnValuesToBeBetween", "not_after_as_of", column=column, max_value={"$PARAMETER": "as_of"})
        )
    for column, values in rules.open_enums:
        out.append(_e("ExpectColumnValuesToBeInSet", "documented_type", column=column, value_set=sorted(values)))
    return out


def _mart(spec: CheckSpec) -> list[dict[str, Any]]:
    from great_expectations.expectations.row_conditions import Column

    mart = spec.asset_key[-1]
    if spec.name == "marts_fct_payout_reconciliation_balances":
        return [
            _e(
                "ExpectColumnPairValuesToBeEqual",
                "statement_balances",
                column_A="statement_settlement_amount",
                column_B="transactions_settlement_amount",
                row_condition=Column("_statement_flagged") == False,  # noqa: E712 - a GX condition, not a test
            ),
            _e(
                "ExpectColumnValuesToBeBetween",
                "payment_balances",
                column="payment_difference",
                min_value=0,
                max_value=0,
                row_condition=Column("_payment_flagged") == False,  # noqa: E712
            ),
            _e(
                "ExpectColumnPairValuesToBeEqual",
                "statement_matches_raw",
                column_A="statement_settlement_amount",
                column_B="_raw_statement_settlement_amount",
            ),
            _e(
                "ExpectColumnPairValuesToBeEqual",
                "transactions_match_raw",
                column_A="transactions_settlement_amount",
                column_B="_raw_transactions_settlement_amount",
            ),
        ]
    if spec.name == "marts_rpt_weekly_payout_reconciliation_both_bases":
        return [
            _e(
                "ExpectColumnValuesToBeInSet",
                "basis",
                column="basis",
                value_set=sorted(accepted_values(mart, "basis")),
            ),
            _e(
                "ExpectCompoundColumnsToBeUnique",
                "one_row_per_basis",
                column_list=["connection_id", "currency", "week_start", "basis"],
            ),
            _e("ExpectColumnValuesToBeInSet", "both_bases", column="_in_report", value_set=[True]),
            _e(
                "ExpectColumnValuesToBeInSet",
                "order_basis_only_outside_settlement_weeks",
                column="basis",
                value_set=["order_date"],
                row_condition=Column("_settlement_week") == False,  # noqa: E712
            ),
        ]
    if spec.name == "marts_repair_actions_money_moving":
        types = accepted_values(mart, "action_type")
        return [
            _e("ExpectColumnValuesToNotBeNull", "key_not_null", column="action_id"),
            _e("ExpectColumnValuesToBeUnique", "key_unique", column="action_id"),
            _e("ExpectColumnValuesToBeInSet", "action_type", column="action_type", value_set=sorted(types)),
            _e(
                "ExpectColumnValuesToBeInSet",
                "executable_not_money_moving",
                column="money_moving",
                value_set=[False],
                row_condition=Column("action_type").is_in(sorted(t for t in types if t != "alert")),
            ),
        ]
    if spec.name == "marts_dim_catalog_health_violations":
        return [
            _e("ExpectColumnValuesToNotBeNull", "violation_not_null", column="violation"),
            _e("ExpectColumnValuesToBeInSet", "violation", column="violation", value_set=sorted(CATALOG_VIOLATIONS)),
        ]
    if mart in DRIFT_MARTS:
        return [
            _e("ExpectColumnValuesToNotBeNull", "drift_type_not_null", column="drift_type"),
            _e(
                "ExpectColumnValuesToBeInSet",
                "drift_type",
                column="drift_type",
                value_set=sorted(accepted_values(mart, "drift_type")),
            ),
        ]
    raise LookupError(f"no suite for {spec.name}")


def suite_definitions() -> dict[str, dict[str, Any]]:
    """Every check's suite as plain data: expectations (type, rule, kwargs), notes and meta."""
    rules = raw_rules()
    suites: dict[str, dict[str, Any]] = {}
    for spec in CHECKS:
        frame = _FRAMES[spec.name]
        meta: dict[str, Any] = {"asset_key": list(spec.asset_key), "blocking": spec.blocking, "table": spec.table}
        if frame.raw is not None:
            r = rules[(frame.raw.schema, frame.raw.table)]
            if frame.health:
                expectations = _raw_health(frame.raw, r)
                meta["max_row_drop_ratio"] = MAX_ROW_DROP_RATIO
                if frame.raw.quarantined:
                    meta["max_quarantine_share"] = MAX_QUARANTINE_SHARE
            else:
                expectations = _raw_valid(frame.raw, r)
        else:
            expectations = _mart(spec)
        suites[spec.name] = {"expectations": expectations, "notes": spec.description, "meta": meta}
    return suites


# --------------------------------------------------------------------------- writing the context


def _uuid(label: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, label))


def _write_context(root: Path) -> None:
    """Create every suite, validation definition and checkpoint through GX in a context at ``root``."""
    import great_expectations as gx

    context = gx.get_context(mode="file", context_root_dir=str(root))
    ids: dict[str, str] = {}
    source = context.data_sources.add_pandas(DATASOURCE)
    ids[str(source.id)] = _uuid(f"datasource:{DATASOURCE}")
    for name, definition in suite_definitions().items():
        asset = source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        ids[str(asset.id)] = _uuid(f"asset:{name}")
        ids[str(batch.id)] = _uuid(f"batch_definition:{name}")
        suite = gx.ExpectationSuite(name=name, notes=definition["notes"], meta=definition["meta"])
        for e in definition["expectations"]:
            kind = getattr(gx.expectations, e["type"])
            severity = "critical" if definition["meta"]["blocking"] else "warning"
            extra = {"description": e["description"]} if e["description"] else {}
            suite.add_expectation(kind(**e["kwargs"], meta={"rule": e["rule"]}, severity=severity, **extra))
        suite = context.suites.add(suite)
        ids[str(suite.id)] = _uuid(f"suite:{name}")
        for i, expectation in enumerate(suite.expectations):
            ids[str(expectation.id)] = _uuid(f"expectation:{name}:{i}")
        vd = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        ids[str(vd.id)] = _uuid(f"validation_definition:{name}")
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[vd],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[SITE_NAME])],
            )
        )
        ids[str(checkpoint.id)] = _uuid(f"checkpoint:{name}")
    pattern = re.compile("|".join(re.escape(k) for k in ids))
    for path in [root / "great_expectations.yml", *(p for d in GENERATED for p in (root / d).rglob("*"))]:
        if path.is_file():
            text = pattern.sub(lambda m: ids[m.group(0)], path.read_text())
            if path.suffix == ".json":
                text = json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
            path.write_text(text)


def generate(target: Path = CONTEXT_DIR) -> list[Path]:
    """(Re)write the generated parts of the context under ``target``; return the files written.

    GX is pointed at a scratch copy of ``great_expectations.yml`` so adding the datasource (which
    GX saves into the yml) never rewrites the hand-written comments; only its
    ``fluent_datasources`` block is carried back.
    """
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "gx"
        scratch.mkdir()
        (scratch / "great_expectations.yml").write_text(_hand_written())
        _write_context(scratch)
        for name in GENERATED:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(scratch / name, target / name, ignore=shutil.ignore_patterns(".ge_store_backend_id"))
        fluent = yaml.safe_load((scratch / "great_expectations.yml").read_text()).get("fluent_datasources")
        _write_fluent(target / "great_expectations.yml", fluent)
    return sorted(p for name in GENERATED for p in (target / name).rglob("*") if p.is_file())


_FLUENT_MARK = "# --- generated by expectations.suites: the pandas datasource and its DataFrame assets ---"


def _hand_written() -> str:
    """The committed great_expectations.yml without its generated datasource block."""
    return (CONTEXT_DIR / "great_expectations.yml").read_text().split(_FLUENT_MARK)[0].rstrip("\n") + "\n"


def _write_fluent(yml: Path, fluent: dict[str, Any] | None) -> None:
    body = yaml.safe_dump({"fluent_datasources": fluent or {}}, sort_keys=True, width=120)
    yml.write_text(f"{_hand_written()}{_FLUENT_MARK}\n{body}")


def files(root: Path) -> dict[str, str]:
    """The generated files under ``root`` as relative path → text (for comparing two generations)."""
    out = {str(p.relative_to(root)): p.read_text() for name in GENERATED for p in (root / name).rglob("*.json")}
    out["great_expectations.yml"] = (root / "great_expectations.yml").read_text()
    return out


def main() -> None:
    written = generate()
    print(f"wrote {len(written)} files under {CONTEXT_DIR}")


if __name__ == "__main__":
    main()
