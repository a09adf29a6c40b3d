"""Score the drift marts against the generator's truth file: per drift type precision and recall."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

#: mart -> (key columns as truth names them, the ok value)
MARTS = {
    "fct_order_reconciliation": ("in_sync",),
    "fct_inventory_drift": ("in_sync",),
    "fct_refund_reconciliation": ("in_sync",),
    "fct_payout_reconciliation": ("balanced",),
}


def _key(mart: str, row: dict[str, Any]) -> dict[str, str]:
    if mart == "fct_order_reconciliation":
        if row["tiktok_status"] is None:
            return {"shopify_order_id": row["shopify_order_id"]}
        return {"tiktok_order_id": row["tiktok_order_id"]}
    if mart == "fct_inventory_drift":
        return {"tiktok_sku_id": row["tiktok_sku_id"], "tiktok_warehouse_id": row["tiktok_warehouse_id"]}
    if mart == "fct_refund_reconciliation":
        for k in ("tiktok_return_id", "tiktok_cancel_id"):
            if row[k]:
                return {k: row[k]}
        return {"shopify_refund_id": row["shopify_refund_id"]}
    return {"tiktok_statement_id": row["tiktok_statement_id"]}


def detected(warehouse: Path) -> set[tuple[str, str, str, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = set()
        for mart, (ok,) in MARTS.items():
            cur = con.execute(f"select * from marts.{mart} where drift_type != ?", [ok])
            cols = [d[0] for d in cur.description]
            for values in cur.fetchall():
                row = dict(zip(cols, values, strict=True))
                out.add((mart, row["connection_id"], json.dumps(_key(mart, row), sort_keys=True), row["drift_type"]))
        cur = con.execute("select connection_id, shopify_variant_id, violations from marts.dim_catalog_health")
        for conn, variant, violations in cur.fetchall():
            for v in violations or []:
                out.add(("dim_catalog_health", conn, json.dumps({"shopify_variant_id": variant}), v))
        return out
    finally:
        con.close()


def expected(truth_path: Path) -> set[tuple[str, str, str, str]]:
    rows = [json.loads(line) for line in Path(truth_path).read_text().splitlines() if line.strip()]
    return {(r["mart"], r["connection_id"], json.dumps(r["key"], sort_keys=True), r["drift_type"]) for r in rows}


def confusion(found: set, truth: set) -> dict[tuple[str, str], dict[str, int]]:
    """Per (mart, drift type): true positives, false positives (found, not true), false negatives."""
    table: dict[tuple[str, str], Counter[str]] = {}
    for item in found | truth:
        key = (item[0], item[3])
        c = table.setdefault(key, Counter())
        if item in found and item in truth:
            c["tp"] += 1
        elif item in found:
            c["fp"] += 1
        else:
            c["fn"] += 1
    return {k: {"tp": v["tp"], "fp": v["fp"], "fn": v["fn"]} for k, v in sorted(table.items())}


def format_confusion(table: dict[tuple[str, str], dict[str, int]]) -> str:
    lines = [f"{'mart':<28} {'drift type':<28} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>9} {'recall':>7}"]
    for (mart, drift), c in table.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        lines.append(f"{mart:<28} {drift:<28} {c['tp']:>5} {c['fp']:>5} {c['fn']:>5} {p:>9.3f} {r:>7.3f}")
    return "\n".join(lines)
