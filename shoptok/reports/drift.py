"""Open drift by type with its age: what is wrong between Shopify and TikTok, and for how long.

The drift marts are complete inventories (in-sync rows included); this report keeps the open
rows, says since when each one has been wrong, what is at stake, and which repair is planned.
Age is measured from the event that opened the situation (the hold deadline for an order missing
in Shopify, the cancellation for an unmirrored cancel, the refund request, the statement time),
against the data clock (``as_of``), never the wall clock, so a report on an old warehouse shows
the ages it had then. Stock drift has no age: the warehouse holds current stock levels only, not
when they started to differ.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from shoptok.reports._db import Row, atomic_write_text, read_only, rows, utc_naive, warehouse_clock
from shoptok.reports._format import age_text, dec, money, when
from shoptok.reports._xlsx import Col
from shoptok.reports.html import esc, page, table

#: (order drift type → (column that opened it, what that event is))
ORDER_SINCE = {
    "missing_in_shopify": ("hold_deadline_at", "hold deadline passed"),
    "stuck_on_hold": ("hold_deadline_at", "hold deadline passed"),
    "orphan_in_shopify": ("shopify_created_at", "Shopify order created"),
    "cancel_not_mirrored": ("tiktok_cancelled_at", "cancelled on TikTok"),
    "cancelled_in_shopify_only": ("shopify_cancelled_at", "cancelled in Shopify"),
    "tracking_not_pushed": ("latest_shopify_fulfillment_at", "fulfilled in Shopify"),
    "tracking_mismatch": ("latest_shopify_fulfillment_at", "fulfilled in Shopify"),
    "amount_mismatch": ("shopify_created_at", "Shopify order created"),
    "line_items_mismatch": ("shopify_created_at", "Shopify order created"),
}
AREAS = ("orders", "inventory", "refunds", "payouts")
AGE_BUCKETS = [
    ("lt_1d", "< 1 day", 0, 24),
    ("d1_7", "1–7 days", 24, 168),
    ("d7_30", "7–30 days", 168, 720),
    ("gt_30d", "> 30 days", 720, float("inf")),
]


@dataclass(frozen=True)
class DriftReport:
    html: Path
    csv: Path
    summary_csv: Path
    open_items: int
    by_type: dict[str, int]
    seconds: float

    @property
    def paths(self) -> list[Path]:
        return [self.html, self.csv, self.summary_csv]


def _maybe_money(value: object, currency: str | None) -> str:
    return "—" if value is None else money(value, currency or "")


def _age_hours(since: datetime | None, now: datetime) -> float | None:
    if since is None:
        return None
    return max(0.0, round((now - since).total_seconds() / 3600, 1))


def load_open_drift(
    warehouse: Path, connection: str | None = None, as_of: datetime | None = None
) -> tuple[list[Row], datetime]:
    """Every open drift row from the four drift marts, normalised to one shape, with its age."""
    cf = " and connection_id = ?" if connection else ""
    cp = [connection] if connection else []
    with read_only(warehouse) as con:
        clock = as_of or warehouse_clock(con) or datetime.now(UTC).replace(microsecond=0)
        orders = rows(con, f"select * from marts.fct_order_reconciliation where drift_type != 'in_sync'{cf}", cp)
        stock = rows(con, f"select * from marts.fct_inventory_drift where drift_type != 'in_sync'{cf}", cp)
        refunds = rows(con, f"select * from marts.fct_refund_reconciliation where drift_type != 'in_sync'{cf}", cp)
        payouts = rows(con, f"select * from marts.fct_payout_reconciliation where drift_type != 'balanced'{cf}", cp)
        actions: dict[str, list[str]] = defaultdict(list)
        for a in rows(
            con,
            "select source_row, action_type, requires_approval from marts.repair_actions order by action_type",
        ):
            label = a["action_type"] + (
                " (needs approval)" if a["requires_approval"] and a["action_type"] != "alert" else ""
            )
            if label not in actions[a["source_row"]]:
                actions[a["source_row"]].append(label)
        currencies = {
            r["connection_id"]: r["shopify_currency"]
            for r in rows(con, "select connection_id, shopify_currency from staging.stg_config__connections")
        }
    now = utc_naive(clock)
    out: list[Row] = []

    def planned(model: str, conn: str, *keys: str | None) -> str:
        found: list[str] = []
        for k in keys:
            for a in actions.get(f"{model}:{conn}:{k}", []) if k else []:
                if a not in found:
                    found.append(a)
        return ", ".join(found)

    for o in orders:
        column, event = ORDER_SINCE.get(o["drift_type"], ("tiktok_created_at", "TikTok order created"))
        since = o.get(column) or o.get("tiktok_created_at") or o.get("shopify_created_at")
        stake = {
            "missing_in_shopify": o["tiktok_total_amount"],
            "orphan_in_shopify": o["shopify_total_price"],
            "amount_mismatch": o["amount_difference"],
        }.get(o["drift_type"])
        out.append(
            {
                "area": "orders",
                "connection_id": o["connection_id"],
                "drift_type": o["drift_type"],
                "drift_flags": list(o["drift_flags"] or []),
                "subject": o["tiktok_order_id"] or o["shopify_order_name"] or o["shopify_order_id"],
                "detail": f"TikTok {o['tiktok_status'] or '—'} / Shopify {o['shopify_order_name'] or 'no order'}",
                "since": since,
                "since_event": event,
                "currency": o["currency"] or currencies.get(o["connection_id"]),
                "amount_at_stake": stake,
                "planned_action": planned(
                    "fct_order_reconciliation", o["connection_id"], o["tiktok_order_id"], o["shopify_order_id"]
                ),
            }
        )
    for s in stock:
        out.append(
            {
                "area": "inventory",
                "connection_id": s["connection_id"],
                "drift_type": s["drift_type"],
                "drift_flags": list(s["drift_flags"] or []),
                "subject": f"{s['seller_sku']} @ {s['tiktok_warehouse_id']}",
                "detail": f"TikTok {s['tiktok_available']} vs expected {s['expected_tiktok_available']} "
                f"(Shopify {s['shopify_available']}, in flight {s['in_flight_units']})",
                "since": None,
                "since_event": "unknown (stock levels have no history)",
                "currency": currencies.get(s["connection_id"]),
                "amount_at_stake": s["oversell_risk_value"] if dec(s["oversell_risk_value"]) else None,
                "planned_action": planned(
                    "fct_inventory_drift",
                    s["connection_id"],
                    s["tiktok_sku_id"],
                    f"{s['tiktok_sku_id']}@{s['tiktok_warehouse_id']}",
                ),
            }
        )
    for r in refunds:
        key = r["tiktok_return_id"] or r["tiktok_cancel_id"] or r["shopify_refund_id"]
        out.append(
            {
                "area": "refunds",
                "connection_id": r["connection_id"],
                "drift_type": r["drift_type"],
                "drift_flags": list(r["drift_flags"] or []),
                "subject": key,
                "detail": f"{r['refund_kind']} on order {r['tiktok_order_id']}: TikTok "
                f"{_maybe_money(r['tiktok_refund_amount'], r['currency'])}, Shopify "
                f"{_maybe_money(r['shopify_refund_amount'], r['currency'])}"
                + (f"; decide by {when(r['decision_deadline'])}" if r["drift_type"] == "decision_due" else ""),
                "since": r["requested_at"],
                "since_event": "refund requested",
                "currency": r["currency"] or currencies.get(r["connection_id"]),
                # a Shopify-only refund has nothing on TikTok: what is at stake is what Shopify recorded
                "amount_at_stake": r["shopify_refund_amount"]
                if r["refund_kind"] == "shopify_refund" or r["tiktok_refund_amount"] is None
                else r["tiktok_refund_amount"],
                "planned_action": planned("fct_refund_reconciliation", r["connection_id"], key),
            }
        )
    for p in payouts:
        stake = {
            "statement_mismatch": p["statement_difference"],
            "payment_mismatch": p["payment_difference"],
            "unpaid": p["statement_settlement_amount"],
        }.get(p["drift_type"])
        out.append(
            {
                "area": "payouts",
                "connection_id": p["connection_id"],
                "drift_type": p["drift_type"],
                "drift_flags": list(p["drift_flags"] or []),
                "subject": p["tiktok_statement_id"],
                "detail": f"statement {money(p['statement_settlement_amount'], p['currency'])}, payment "
                f"{p['payment_status']}",
                "since": p["statement_time"],
                "since_event": "statement issued",
                "currency": p["currency"],
                "amount_at_stake": stake,
                "planned_action": planned("fct_payout_reconciliation", p["connection_id"], p["tiktok_statement_id"]),
            }
        )
    for row in out:
        row["age_hours"] = _age_hours(row["since"], now)
        row["age"] = age_text(row["age_hours"])
    out.sort(key=lambda r: (AREAS.index(r["area"]), r["drift_type"], -(r["age_hours"] or -1), str(r["subject"])))
    return out, clock


def summarize(items: list[Row]) -> list[Row]:
    """Per area × drift type: how many, how old (oldest, median, age buckets), and the money at stake."""
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in items:
        groups[(r["area"], r["drift_type"])].append(r)
    out = []
    for (area, drift_type), members in sorted(groups.items(), key=lambda kv: (AREAS.index(kv[0][0]), kv[0][1])):
        ages = [m["age_hours"] for m in members if m["age_hours"] is not None]
        stake: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for m in members:
            if m["amount_at_stake"] is not None and m["currency"]:
                stake[m["currency"]] += dec(m["amount_at_stake"])
        row: Row = {
            "area": area,
            "drift_type": drift_type,
            "open": len(members),
            "oldest_hours": max(ages) if ages else None,
            "median_hours": round(statistics.median(ages), 1) if ages else None,
            "no_age": len(members) - len(ages),
            "at_stake": "; ".join(money(v, c) for c, v in sorted(stake.items())),
            "connections": ", ".join(sorted({m["connection_id"] for m in members})),
        }
        for key, _, lo, hi in AGE_BUCKETS:
            row[key] = sum(1 for a in ages if lo <= a < hi)
        row["oldest"] = age_text(row["oldest_hours"])
        row["median"] = age_text(row["median_hours"])
        out.append(row)
    return out


DETAIL_CSV = [
    "area",
    "connection_id",
    "drift_type",
    "drift_flags",
    "subject",
    "detail",
    "since_event",
    "since",
    "age_hours",
    "currency",
    "amount_at_stake",
    "planned_action",
]
SUMMARY_CSV = [
    "area",
    "drift_type",
    "open",
    "oldest_hours",
    "median_hours",
    *[k for k, *_ in AGE_BUCKETS],
    "no_age",
    "at_stake",
    "connections",
]


def _csv(items: list[Row], fields: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in items:
        out = dict(r)
        if "drift_flags" in out:
            out["drift_flags"] = "|".join(out["drift_flags"])
        if "since" in out:
            out["since"] = when(out["since"])
        if out.get("amount_at_stake") is not None:
            out["amount_at_stake"] = str(dec(out["amount_at_stake"]))
        writer.writerow(out)
    return buf.getvalue()


SUMMARY_COLS = [
    Col("area", "Area"),
    Col("drift_type", "Drift type"),
    Col("open", "Open", "int"),
    Col("oldest", "Oldest"),
    Col("median", "Median age"),
    *[Col(k, label, "int") for k, label, *_ in AGE_BUCKETS],
    Col("no_age", "Age unknown", "int"),
    Col("at_stake", "Money at stake"),
    Col("connections", "Connections"),
]
DETAIL_COLS = [
    Col("connection_id", "Connection"),
    Col("drift_type", "Drift type"),
    Col("subject", "Order / SKU / refund / statement"),
    Col("detail", "Detail"),
    Col("since_event", "Open since"),
    Col("since", "At (UTC)", "datetime"),
    Col("age", "Age"),
    Col("amount_at_stake", "At stake", "money"),
    Col("planned_action", "Planned repair"),
]


def _html(items: list[Row], summary: list[Row], clock: datetime, generated: datetime, connection: str | None) -> str:
    scope = f"connection {connection}" if connection else "all connections"
    parts = [
        f'<p class="note" id="drift-totals" data-open="{len(items)}">{len(items):,} open drift items. Age runs from '
        "the event that opened each one to the data clock; stock drift has no age (levels have no history). "
        "Repairs marked “needs approval” wait for a person; alerts are never executed.</p>",
        "<h2>Open drift by type</h2>",
        table(SUMMARY_COLS, summary, table_id="drift-summary"),
    ]
    for area in AREAS:
        mine = [r for r in items if r["area"] == area]
        if not mine:
            continue
        parts.append(f"<h2>{esc(area.capitalize())} ({len(mine):,})</h2>")
        parts.append(table(DETAIL_COLS, mine, table_id=f"drift-{area}", limit=500))
    return page(
        "Open drift between Shopify and TikTok Shop",
        [f"Data as of {when(clock)} UTC · generated {when(generated)} UTC · {scope}."],
        "".join(parts),
    )


def write_drift_report(
    warehouse: Path, out_dir: Path, *, connection: str | None = None, as_of: datetime | None = None
) -> DriftReport:
    """Write ``drift_<date>.html``, ``drift_<date>.csv`` (items) and ``drift_<date>_summary.csv`` (by type)."""
    started = time.perf_counter()
    items, clock = load_open_drift(warehouse, connection, as_of)
    summary = summarize(items)
    generated = datetime.now(UTC).replace(microsecond=0)
    stem = f"drift_{clock:%Y-%m-%d}" + (f"_{connection}" if connection else "")
    out_dir = Path(out_dir)
    html_path = atomic_write_text(out_dir / f"{stem}.html", _html(items, summary, clock, generated, connection))
    csv_path = atomic_write_text(out_dir / f"{stem}.csv", _csv(items, DETAIL_CSV))
    summary_path = atomic_write_text(out_dir / f"{stem}_summary.csv", _csv(summary, SUMMARY_CSV))
    by_type: dict[str, int] = defaultdict(int)
    for r in items:
        by_type[f"{r['area']}.{r['drift_type']}"] += 1
    return DriftReport(
        html=html_path,
        csv=csv_path,
        summary_csv=summary_path,
        open_items=len(items),
        by_type=dict(by_type),
        seconds=round(time.perf_counter() - started, 3),
    )
