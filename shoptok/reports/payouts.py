"""The weekly payout report: an XLSX workbook for finance and an HTML page with charts.

Finance closes TikTok payouts weekly in Excel: they need the totals per connection × currency,
every statement and payment behind them, and the short list of items that do not balance, with
the reason. All totals come from ``marts.rpt_weekly_payout_reconciliation`` for the chosen
basis, and every detail sheet is filtered with the mart's own bucketing, so each sheet sums to
the Summary to the cent (tests hold that for both bases).

Bases: ``settlement_date`` buckets by statement time and ties to statements and bank payments;
``order_date`` buckets by order creation and ties to Shopify sales. Payments and reserves are
bank events, so the mart reports them on the settlement basis only (0 on the order basis).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from shoptok.reports import svg
from shoptok.reports._db import Row, atomic_write_bytes, atomic_write_text, read_only, rows, utc_naive, warehouse_clock
from shoptok.reports._format import ZERO, dec, money, pct, pct_text, when
from shoptok.reports._xlsx import Col, write_notes, write_table, write_title
from shoptok.reports.html import esc, page, table
from shoptok.reports.period import Period, iso_week_label, resolve_period

BASES = ("settlement_date", "order_date")
BASIS_TEXT = {
    "settlement_date": "settlement date: weeks by statement time; ties to TikTok statements and bank payments",
    "order_date": "order date: weeks by order creation; ties to Shopify sales. Payments and reserves are bank "
    "events and count on the settlement basis only",
}
FEE_CLASSES = [
    ("platform_commission", "Platform commission"),
    ("referral_fees", "Referral fees"),
    ("transaction_fees", "Transaction fees"),
    ("affiliate_commission", "Affiliate commission"),
    ("other_fees", "Other fees"),
]
#: the weekly mart's money columns, in the order finance reads a settlement
MART_MONEY = [
    ("shopify_gross_sales", "Shopify gross sales"),
    ("tiktok_revenue", "TikTok revenue"),
    *FEE_CLASSES,
    ("total_fees", "Total fees"),
    ("shipping_costs", "Shipping costs"),
    ("refunds", "Refunds (in revenue)"),
    ("chargebacks", "Chargebacks"),
    ("other_adjustments", "Other adjustments"),
    ("reserves_held", "Reserves held"),
    ("reserves_released", "Reserves released"),
    ("net_settlement", "Net settlement"),
    ("unexplained_difference", "Unexplained difference"),
    ("paid_out", "Paid out"),
]
SUMMARY_LINES = [*MART_MONEY[:-2], ("expected_settlement", "Expected settlement"), *MART_MONEY[-2:]]
CHART_WEEKS = 12
SIGNS_NOTE = (
    "Signs: money TikTok pays you is positive; fees, shipping, refunds and chargebacks are negative. Refunds are "
    "already inside TikTok revenue. Expected settlement = revenue + fees + shipping + chargebacks + other "
    "adjustments (what the statement lines account for); unexplained difference = net settlement − expected. "
    "Reserves held/released are shown as positive amounts."
)


@dataclass
class PayoutData:
    """Everything the two outputs print, read in one short read-only session."""

    warehouse: Path
    basis: str
    period: Period
    as_of: datetime
    connection: str | None
    generated_at: datetime
    chart_weeks: list[date]
    summary: list[Row]
    weekly: list[Row]
    chart_rows: list[Row]
    statements: list[Row]
    payments: list[Row]
    unreconciled: list[Row]
    adjustments: list[Row]
    missing_orders: list[Row]
    shops: dict[str, Row] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, str]]:
        """(connection, currency) pairs: the Summary's rows and the charts' panels."""
        keys = {(r["connection_id"], r["currency"]) for r in self.summary}
        keys |= {(r["connection_id"], r["currency"]) for r in self.chart_rows}
        return sorted(keys)


@dataclass(frozen=True)
class PayoutReport:
    """What was written, plus the totals for asset metadata (plain values, JSON-friendly)."""

    xlsx: Path
    html: Path
    period_label: str
    basis: str
    totals: list[dict[str, Any]]
    seconds: float

    @property
    def paths(self) -> list[Path]:
        return [self.xlsx, self.html]


# --------------------------------------------------------------------------- reading


def _conn_filter(connection: str | None, column: str = "connection_id") -> tuple[str, list[Any]]:
    return (f" and {column} = ?", [connection]) if connection else ("", [])


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return datetime.combine(period.start, datetime.min.time()), datetime.combine(
        period.end_exclusive, datetime.min.time()
    )


def _with_derived(row: Row) -> Row:
    row = dict(row)
    row["expected_settlement"] = dec(row["net_settlement"]) - dec(row["unexplained_difference"])
    row["fee_pct"] = pct(-dec(row["total_fees"]), row["tiktok_revenue"])
    if "week_start" in row and row["week_start"] is not None:
        row["week"] = iso_week_label(row["week_start"])
    return row


def _chart_window(con, basis: str, period: Period, connection: str | None) -> list[date]:
    """The period's weeks plus up to 12 weeks of history before them, never before the first data."""
    cf, cp = _conn_filter(connection)
    first_data = con.execute(
        f"select min(week_start) from marts.rpt_weekly_payout_reconciliation where basis = ?{cf}", [basis, *cp]
    ).fetchone()[0]
    start = min(period.first_week, period.last_week - timedelta(days=7 * (CHART_WEEKS - 1)))
    if first_data is not None:
        start = max(start, min(first_data, period.first_week))
    n = (period.last_week - start).days // 7 + 1
    return [start + timedelta(days=7 * i) for i in range(n)]


def load_payout_data(
    warehouse: Path,
    period: Period | None = None,
    *,
    basis: str = "settlement_date",
    connection: str | None = None,
    as_of: datetime | None = None,
    week: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> PayoutData:
    """All rows both outputs need, in one read-only session that closes before any file is written."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    money_sums = ",\n".join(f"sum({k}) as {k}" for k, _ in MART_MONEY)
    with read_only(warehouse) as con:
        clock = as_of or warehouse_clock(con) or datetime.now(UTC).replace(microsecond=0)
        if period is None:
            period = resolve_period(week, date_from, date_to, as_of=clock)
        cf, cp = _conn_filter(connection)
        lo, hi = _bounds(period)
        weekly_where = f"basis = ? and week_start between ? and ?{cf}"
        summary = rows(
            con,
            f"""
            select connection_id, currency, count(*) as weeks, {money_sums},
                   sum(order_count) as order_count, sum(unreconciled_count) as unreconciled_count
            from marts.rpt_weekly_payout_reconciliation
            where {weekly_where}
            group by connection_id, currency
            order by connection_id, currency
            """,
            [basis, period.first_week, period.last_week, *cp],
        )
        weekly = rows(
            con,
            f"select * from marts.rpt_weekly_payout_reconciliation where {weekly_where} "
            "order by connection_id, currency, week_start",
            [basis, period.first_week, period.last_week, *cp],
        )
        chart_weeks = _chart_window(con, basis, period, connection)
        chart_rows = rows(
            con,
            f"select * from marts.rpt_weekly_payout_reconciliation where {weekly_where} "
            "order by connection_id, currency, week_start",
            [basis, chart_weeks[0], chart_weeks[-1], *cp],
        )
        statements = rows(
            con,
            f"""
            select * from marts.fct_payout_reconciliation
            where statement_time >= ? and statement_time < ?{cf}
            order by connection_id, statement_time, tiktok_statement_id
            """,
            [lo, hi, *cp],
        )
        pcf, pcp = _conn_filter(connection, "pay.connection_id")
        payments = rows(
            con,
            f"""
            with paid_statements as (
                select connection_id, tiktok_payment_id, count(*) as statement_count,
                       sum(statement_settlement_amount) as statements_settlement
                from marts.fct_payout_reconciliation
                where tiktok_payment_id is not null
                group by 1, 2
            )
            select pay.connection_id, pay.tiktok_payment_id, pay.created_at, pay.paid_at, pay.status, pay.currency,
                   pay.amount, coalesce(pay.reserve_amount, 0) as reserve_amount,
                   case when pay.reserve_amount < 0 then -pay.reserve_amount else 0 end as reserve_held,
                   case when pay.reserve_amount > 0 then pay.reserve_amount else 0 end as reserve_released,
                   coalesce(ps.statement_count, 0) as statement_count,
                   coalesce(ps.statements_settlement, 0) as statements_settlement,
                   pay.amount - (coalesce(ps.statements_settlement, 0) + coalesce(pay.reserve_amount, 0))
                       as payment_difference
            from staging.stg_tiktok_shop__payments as pay
            left join paid_statements as ps
                on pay.connection_id = ps.connection_id and pay.tiktok_payment_id = ps.tiktok_payment_id
            where pay.status = 'PAID' and pay.paid_at >= ? and pay.paid_at < ?{pcf}
            order by pay.connection_id, pay.paid_at, pay.tiktok_payment_id
            """,
            [lo, hi, *pcp],
        )
        bucket = "s.statement_time" if basis == "settlement_date" else "t.order_date_basis_at"
        tcf, tcp = _conn_filter(connection, "t.connection_id")
        tx_from = f"""
            from intermediate.int_statement_transactions_classified as t
            inner join marts.fct_payout_reconciliation as s
                on t.connection_id = s.connection_id and t.tiktok_statement_id = s.tiktok_statement_id
            where {bucket} >= ? and {bucket} < ?{tcf}
        """
        order_lines = rows(
            con,
            f"""
            select t.connection_id, s.currency, t.tiktok_transaction_id, t.tiktok_statement_id, s.statement_time,
                   t.tiktok_order_id, t.shopify_order_id, t.order_date_basis_at, t.customer_payment_amount,
                   t.shopify_total_price, t.settlement_amount, t.is_order_not_in_shopify, t.is_revenue_mismatch
            {tx_from} and (t.is_order_not_in_shopify or t.is_revenue_mismatch)
            order by t.connection_id, s.statement_time, t.tiktok_transaction_id
            """,
            [lo, hi, *tcp],
        )
        adjustments = rows(
            con,
            f"""
            select t.connection_id, s.currency, t.tiktok_statement_id, s.statement_time, t.tiktok_transaction_id,
                   t.transaction_type, t.tiktok_order_id, t.adjustment_id, t.adjustment_order_id,
                   t.order_date_basis_at, t.chargeback_amount, t.other_adjustment_amount, t.settlement_amount
            {tx_from} and (t.chargeback_amount != 0 or t.other_adjustment_amount != 0)
            order by t.connection_id, s.statement_time, t.tiktok_transaction_id
            """,
            [lo, hi, *tcp],
        )
        missing = rows(
            con,
            f"""
            select connection_id, drift_type, drift_flags, tiktok_order_id, shopify_order_id, shopify_order_name,
                   tiktok_status, shopify_financial_status, currency, tiktok_created_at, tiktok_paid_at,
                   shopify_created_at, hold_deadline_at, tiktok_total_amount, shopify_total_price
            from marts.fct_order_reconciliation
            where (list_contains(drift_flags, 'missing_in_shopify') or list_contains(drift_flags, 'orphan_in_shopify'))
            {cf}
            order by connection_id, coalesce(tiktok_created_at, shopify_created_at)
            """,
            cp,
        )
        shops = {
            r["connection_id"]: r
            for r in rows(
                con, "select connection_id, shopify_shop_domain, tiktok_shop_id from staging.stg_config__connections"
            )
        }
    return PayoutData(
        warehouse=Path(warehouse),
        basis=basis,
        period=period,
        as_of=clock,
        connection=connection,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        chart_weeks=chart_weeks,
        summary=[_with_derived(r) for r in summary],
        weekly=[_with_derived(r) for r in weekly],
        chart_rows=[_with_derived(r) for r in chart_rows],
        statements=statements,
        payments=payments,
        unreconciled=_unreconciled(statements, payments, order_lines, basis, clock),
        adjustments=adjustments,
        missing_orders=_missing(missing, period, clock),
        shops=shops,
    )


def _statement_reason(s: Row) -> str:
    cur = s["currency"]
    parts = []
    flags = list(s.get("drift_flags") or [])
    if "statement_mismatch" in flags:
        parts.append(
            f"header {money(s['statement_settlement_amount'], cur)} ≠ Σ {s['transaction_count']} lines "
            f"{money(s['transactions_settlement_amount'], cur)}"
        )
    if "payment_mismatch" in flags:
        parts.append(
            f"payment {s['tiktok_payment_id']} of {money(s['payment_amount'], cur)} ≠ Σ its statements "
            f"{money(s['payment_statements_settlement_amount'], cur)} + reserve "
            f"{money(s['payment_reserve_amount'], cur)}"
        )
    if "unpaid" in flags:
        parts.append(f"payment status {s['payment_status']} after the unpaid window")
    if "order_not_in_shopify" in flags:
        parts.append(f"{s['orders_not_in_shopify']} settled order(s) with no Shopify order")
    if "revenue_mismatch" in flags:
        parts.append(f"{s['revenue_mismatches']} order(s) settled at a different total than Shopify's")
    return "; ".join(parts)


def _unreconciled(
    statements: Sequence[Row], payments: Sequence[Row], order_lines: Sequence[Row], basis: str, as_of: datetime
) -> list[Row]:
    """Every statement, payment and order line that does not balance, with the reason in words."""
    out: list[Row] = []
    for s in statements:
        if s["drift_type"] == "balanced":
            continue
        out.append(
            {
                "kind": "statement",
                "connection_id": s["connection_id"],
                "currency": s["currency"],
                "at": s["statement_time"],
                "reference": s["tiktok_statement_id"],
                "tiktok_statement_id": s["tiktok_statement_id"],
                "reason_code": s["drift_type"],
                "flags": list(s["drift_flags"] or []),
                "reason": _statement_reason(s),
                "tiktok_amount": s["statement_settlement_amount"],
                "other_amount": s["transactions_settlement_amount"],
                "difference": s["statement_difference"],
                "in_weekly_count": basis == "settlement_date",
            }
        )
    for p in payments:
        if dec(p["payment_difference"]) == 0:
            continue
        cur = p["currency"]
        expected = dec(p["statements_settlement"]) + dec(p["reserve_amount"])
        out.append(
            {
                "kind": "payment",
                "connection_id": p["connection_id"],
                "currency": cur,
                "at": p["paid_at"],
                "reference": p["tiktok_payment_id"],
                "tiktok_statement_id": None,
                "reason_code": "payment_mismatch",
                "flags": ["payment_mismatch"],
                "reason": (
                    f"paid {money(p['amount'], cur)} but its {p['statement_count']} statement(s) total "
                    f"{money(p['statements_settlement'], cur)} and the reserve {money(p['reserve_amount'], cur)}"
                ),
                "tiktok_amount": p["amount"],
                "other_amount": expected,
                "difference": p["payment_difference"],
                "in_weekly_count": False,
            }
        )
    for t in order_lines:
        cur = t["currency"]
        if t["is_order_not_in_shopify"]:
            code = "order_not_in_shopify"
            reason = (
                f"TikTok settled order {t['tiktok_order_id']} (customer paid "
                f"{money(t['customer_payment_amount'], cur)}) but Shopify has no order for it"
            )
            other = None
            diff = t["customer_payment_amount"]
        else:
            code = "revenue_mismatch"
            reason = (
                f"customer paid {money(t['customer_payment_amount'], cur)} on TikTok; the Shopify order totals "
                f"{money(t['shopify_total_price'], cur)}"
            )
            other = t["shopify_total_price"]
            diff = dec(t["customer_payment_amount"]) - dec(t["shopify_total_price"])
        out.append(
            {
                "kind": "order line",
                "connection_id": t["connection_id"],
                "currency": cur,
                "at": t["statement_time"] if basis == "settlement_date" else t["order_date_basis_at"],
                "reference": t["tiktok_order_id"],
                "tiktok_statement_id": t["tiktok_statement_id"],
                "reason_code": code,
                "flags": [code],
                "reason": reason,
                "tiktok_amount": t["customer_payment_amount"],
                "other_amount": other,
                "difference": diff,
                "in_weekly_count": True,
            }
        )
    epoch = datetime(1970, 1, 1)  # noqa: DTZ001 - the marts hold naive UTC timestamps
    out.sort(key=lambda r: (r["connection_id"], r["at"] or epoch, r["kind"], str(r["reference"])))
    return out


def _missing(missing: Sequence[Row], period: Period, as_of: datetime) -> list[Row]:
    now = utc_naive(as_of)
    out = []
    for m in missing:
        flags = list(m["drift_flags"] or [])
        in_shopify_missing = "missing_in_shopify" in flags
        order_at = m["tiktok_created_at"] if in_shopify_missing else m["shopify_created_at"]
        since = m["hold_deadline_at"] if in_shopify_missing else m["shopify_created_at"]
        out.append(
            {
                **m,
                "missing_on": "Shopify" if in_shopify_missing else "TikTok",
                "order_at": order_at,
                "amount": m["tiktok_total_amount"] if in_shopify_missing else m["shopify_total_price"],
                "open_since": since,
                "age_days": None if since is None else round((now - since).total_seconds() / 86400, 1),
                "in_period": order_at is not None and period.start <= order_at.date() < period.end_exclusive,
                "what_to_do": (
                    "Create the order in Shopify: the TikTok channel app did not import it (check its sync log)."
                    if in_shopify_missing
                    else "A Shopify order names a TikTok order TikTok does not have: check for a test or duplicate "
                    "order and cancel it in Shopify if it is not real."
                ),
            }
        )
    return out


# --------------------------------------------------------------------------- workbook

_SHEET_NOTES = {
    "Weekly": "One row per connection × ISO week × currency from marts.rpt_weekly_payout_reconciliation.",
    "Statements": "Statements dated in the period (statement time), any basis. On the settlement basis "
    "Σ Statement settlement = Summary net settlement.",
}


def _summary_cols() -> list[Col]:
    cols = [
        Col("connection_id", "Connection", width=12),
        Col("shop", "Shopify store", width=34),
        Col("currency", "Currency", width=9),
        Col("weeks", "Weeks", "int", width=8),
        Col("order_count", "Orders", "int", width=9),
    ]
    cols += [Col(k, label, "money") for k, label in SUMMARY_LINES]
    cols += [
        Col("fee_pct", "Fees % of revenue", "pct", width=10),
        Col("unreconciled_count", "Unreconciled items", "int"),
    ]
    return cols


def _weekly_cols() -> list[Col]:
    cols = [
        Col("connection_id", "Connection", width=11),
        Col("currency", "Currency", width=9),
        Col("week", "ISO week", width=10),
        Col("week_start", "Week start", "date", width=11),
        Col("order_count", "Orders", "int", width=8),
    ]
    cols += [Col(k, label, "money") for k, label in SUMMARY_LINES]
    cols += [Col("fee_pct", "Fees % of revenue", "pct", width=10), Col("unreconciled_count", "Unreconciled", "int")]
    return cols


STATEMENT_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("tiktok_statement_id", "Statement id", width=22),
    Col("statement_time", "Statement time (UTC)", "datetime"),
    Col("statement_settlement_amount", "Statement settlement", "money"),
    Col("transactions_settlement_amount", "Σ transaction lines", "money"),
    Col("statement_difference", "Header − lines", "money"),
    Col("transaction_count", "Lines", "int", width=7),
    Col("order_transaction_count", "Order lines", "int", width=8),
    Col("revenue_amount", "Revenue", "money"),
    Col("fee_amount", "Fees", "money"),
    Col("shipping_cost_amount", "Shipping", "money"),
    Col("refund_amount", "Refunds (in revenue)", "money"),
    Col("chargeback_amount", "Chargebacks", "money"),
    Col("adjustment_amount", "Other adjustments", "money"),
    Col("payment_status", "Payment status", width=12),
    Col("tiktok_payment_id", "Payment id", width=22),
    Col("payment_amount", "Payment amount", "money"),
    Col("payment_reserve_amount", "Payment reserve", "money"),
    Col("payment_difference", "Payment − (statements + reserve)", "money"),
    Col("drift_type", "Status", width=20),
    Col("drift_flags", "All failing checks", "list", width=36),
]
PAYMENT_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("tiktok_payment_id", "Payment id", width=22),
    Col("created_at", "Created (UTC)", "datetime"),
    Col("paid_at", "Paid (UTC)", "datetime"),
    Col("status", "Status", width=9),
    Col("amount", "Paid out", "money"),
    Col("reserve_amount", "Reserve (− held, + released)", "money"),
    Col("reserve_held", "Reserve held", "money"),
    Col("reserve_released", "Reserve released", "money"),
    Col("statement_count", "Statements paid", "int"),
    Col("statements_settlement", "Σ statements paid", "money"),
    Col("payment_difference", "Unexplained (paid − statements − reserve)", "money"),
]
UNRECONCILED_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("kind", "Item", width=11),
    Col("reference", "Statement / payment / order id", width=24),
    Col("at", "Date (UTC)", "datetime"),
    Col("reason_code", "Reason code", width=22),
    Col("reason", "Why it does not balance", width=80),
    Col("tiktok_amount", "TikTok amount", "money"),
    Col("other_amount", "Should be", "money"),
    Col("difference", "Difference", "money"),
    Col("tiktok_statement_id", "Statement id", width=22),
    Col("in_weekly_count", "In weekly unreconciled count", "bool", width=14),
]
FEE_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("week", "ISO week", width=10),
    Col("tiktok_revenue", "TikTok revenue", "money"),
    *[Col(k, label, "money") for k, label in FEE_CLASSES],
    Col("total_fees", "Total fees", "money"),
    Col("fee_pct", "Fees % of revenue", "pct", width=10),
]
ADJUSTMENT_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("statement_time", "Statement time (UTC)", "datetime"),
    Col("tiktok_statement_id", "Statement id", width=22),
    Col("tiktok_transaction_id", "Transaction id", width=22),
    Col("transaction_type", "Type", width=26),
    Col("tiktok_order_id", "Order id", width=22),
    Col("adjustment_id", "Adjustment id", width=22),
    Col("order_date_basis_at", "Order date (UTC)", "datetime"),
    Col("chargeback_amount", "Chargeback", "money"),
    Col("other_adjustment_amount", "Other adjustment", "money"),
    Col("settlement_amount", "Line settlement", "money"),
]
MISSING_COLS = [
    Col("connection_id", "Connection", width=11),
    Col("currency", "Currency", width=9),
    Col("missing_on", "Missing on", width=10),
    Col("tiktok_order_id", "TikTok order id", width=22),
    Col("shopify_order_name", "Shopify order", width=14),
    Col("tiktok_status", "TikTok status", width=16),
    Col("order_at", "Ordered (UTC)", "datetime"),
    Col("amount", "Order total", "money"),
    Col("open_since", "Open since (UTC)", "datetime"),
    Col("age_days", "Age (days)", "number", width=9),
    Col("in_period", "Ordered in period", "bool", width=10),
    Col("what_to_do", "What to do", width=70),
]
SHEETS = [
    "Summary",
    "Weekly",
    "Statements",
    "Payments",
    "Unreconciled items",
    "Fees breakdown",
    "Adjustments & chargebacks",
    "Orders missing on either side",
    "About",
]


def open_week_note(data: PayoutData) -> str:
    """Say so when the period runs past the data clock: its last week is still filling up."""
    end = datetime.combine(data.period.end_exclusive, datetime.min.time())
    if end > utc_naive(data.as_of):
        return (
            f"Incomplete: the period ends after the data clock ({when(data.as_of)} UTC), so its last week holds only "
            "what TikTok had settled by then."
        )
    return ""


def _header_lines(data: PayoutData) -> list[str]:
    scope = f"connection {data.connection}" if data.connection else "all connections"
    lines = [
        f"TikTok Shop payout reconciliation — {data.period.title}",
        f"Basis: {BASIS_TEXT[data.basis]}.",
        f"Data as of {when(data.as_of)} UTC (the warehouse's build clock); generated {when(data.generated_at)} UTC; "
        f"{scope}.",
        SIGNS_NOTE,
    ]
    if open_week_note(data):
        lines.insert(3, open_week_note(data))
    return lines


def build_workbook(data: PayoutData) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    header_row = write_title(ws, _header_lines(data))
    summary = [
        {**r, "shop": data.shops.get(r["connection_id"], {}).get("shopify_shop_domain", "")} for r in data.summary
    ]
    last = write_table(ws, _summary_cols(), summary, header_row=header_row, freeze_first_col=True)
    if not summary:
        write_notes(ws, last + 1, ["No TikTok statements, transactions or payments in this period."])

    ws = wb.create_sheet("Weekly")
    write_table(ws, _weekly_cols(), data.weekly, freeze_first_col=True)

    ws = wb.create_sheet("Statements")
    write_table(ws, STATEMENT_COLS, data.statements, freeze_first_col=True)

    ws = wb.create_sheet("Payments")
    write_table(ws, PAYMENT_COLS, data.payments, freeze_first_col=True)

    ws = wb.create_sheet("Unreconciled items")
    write_table(ws, UNRECONCILED_COLS, data.unreconciled)

    ws = wb.create_sheet("Fees breakdown")
    write_table(ws, FEE_COLS, data.weekly)

    ws = wb.create_sheet("Adjustments & chargebacks")
    write_table(ws, ADJUSTMENT_COLS, data.adjustments)

    ws = wb.create_sheet("Orders missing on either side")
    write_table(ws, MISSING_COLS, data.missing_orders)

    ws = wb.create_sheet("About")
    about = [
        {"item": "Report", "text": _header_lines(data)[0]},
        {"item": "Basis", "text": BASIS_TEXT[data.basis]},
        {
            "item": "Period",
            "text": "Whole ISO weeks (Monday–Sunday, UTC); --from/--to widen to the weeks containing them.",
        },
        {
            "item": "Source",
            "text": f"{data.warehouse} (read-only): marts.rpt_weekly_payout_reconciliation, "
            "marts.fct_payout_reconciliation, marts.fct_order_reconciliation, staging payments and the "
            "classified statement lines.",
        },
        {"item": "Signs", "text": SIGNS_NOTE},
        {"item": "Summary", "text": "Σ of the Weekly sheet per connection × currency."},
        {"item": "Weekly", "text": _SHEET_NOTES["Weekly"]},
        {"item": "Statements", "text": _SHEET_NOTES["Statements"]},
        {
            "item": "Payments",
            "text": "PAID payments with paid time in the period. On the settlement basis Σ Paid out "
            "= Summary paid out and Σ reserve held / released = Summary reserves.",
        },
        {
            "item": "Unreconciled items",
            "text": "Statements that fail a check, payments that do not equal their "
            "statements + reserve, and settled order lines with no Shopify order or a different total. Items marked "
            "'In weekly unreconciled count' add up to the Summary's Unreconciled items.",
        },
        {"item": "Fees breakdown", "text": "Fees by class per week; fees % of revenue = −total fees / TikTok revenue."},
        {
            "item": "Adjustments & chargebacks",
            "text": "Statement lines with a chargeback or another adjustment, "
            "bucketed like the basis; they sum to the Summary's chargebacks and other adjustments.",
        },
        {
            "item": "Orders missing on either side",
            "text": "Orders open right now (as of the data clock) that exist "
            "on one platform only; not limited to the period, since they stay open until fixed.",
        },
    ]
    write_table(ws, [Col("item", "Item", width=28), Col("text", "Notes", width=120)], about)
    return wb


def _workbook_bytes(data: PayoutData) -> bytes:
    buf = io.BytesIO()
    build_workbook(data).save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- HTML

CHARTS = [
    (
        "net_vs_expected",
        "Weekly net settlement vs expected",
        "Bars: net settlement TikTok reported. Line: expected from the statement lines (revenue + fees + shipping + "
        "chargebacks + adjustments). A gap is an unexplained difference.",
    ),
    (
        "fee_stack",
        "Fee stack by class",
        "Fees per week by class, drawn as positive costs.",
    ),
    (
        "unexplained_trend",
        "Unexplained difference trend",
        "Net settlement − expected, per week. It should sit on zero; red dots are weeks to investigate.",
    ),
    (
        "chargebacks",
        "Chargebacks over time",
        "Chargebacks per week, drawn as positive costs.",
    ),
]
FEE_COLORS = ["#1f3a5f", "#3f7cbf", "#8fb8e8", "#f2a541", "#9e9e9e"]


def _series_by_week(data: PayoutData, conn: str, cur: str) -> dict[date, Row]:
    return {r["week_start"]: r for r in data.chart_rows if r["connection_id"] == conn and r["currency"] == cur}


def chart_svgs(data: PayoutData, conn: str, cur: str) -> dict[str, str]:
    """The four charts for one connection × currency over the chart window (missing weeks are zero)."""
    by_week = _series_by_week(data, conn, cur)
    weeks = data.chart_weeks
    keys = [iso_week_label(w) for w in weeks]
    labels = [f"W{w.isocalendar()[1]:02d}" for w in weeks]
    highlight = [w in data.period for w in weeks]

    def values(col: str) -> list[Decimal]:
        return [dec(by_week[w][col]) if w in by_week else ZERO for w in weeks]

    common = {"week_keys": keys, "week_labels": labels, "currency": cur, "highlight": highlight}
    fee_series = [
        svg.Series(k, label, values(k), FEE_COLORS[i], sign=-1)
        for i, (k, label) in enumerate(FEE_CLASSES)
        if any(v != 0 for v in values(k))
    ]
    if not fee_series:
        fee_series = [svg.Series("total_fees", "Total fees", values("total_fees"), FEE_COLORS[0], sign=-1)]
    ident = f"{conn}-{cur}"
    return {
        "net_vs_expected": svg.chart(
            chart_id=f"chart-net_vs_expected-{ident}",
            kind="net_vs_expected",
            bars=[svg.Series("net_settlement", "Net settlement", values("net_settlement"), "#3f7cbf")],
            lines=[svg.Series("expected_settlement", "Expected", values("expected_settlement"), "#f28c28")],
            **common,
        ),
        "fee_stack": svg.chart(
            chart_id=f"chart-fee_stack-{ident}", kind="fee_stack", bars=fee_series, stacked=True, **common
        ),
        "unexplained_trend": svg.chart(
            chart_id=f"chart-unexplained_trend-{ident}",
            kind="unexplained_trend",
            lines=[
                svg.Series(
                    "unexplained_difference", "Unexplained difference", values("unexplained_difference"), "#2e7d32"
                )
            ],
            label_nonzero=True,
            **common,
        ),
        "chargebacks": svg.chart(
            chart_id=f"chart-chargebacks-{ident}",
            kind="chargebacks",
            bars=[svg.Series("chargebacks", "Chargebacks", values("chargebacks"), "#c0504d", sign=-1)],
            **common,
        ),
    }


def _kpi_card(data: PayoutData, row: Row) -> str:
    conn, cur = row["connection_id"], row["currency"]
    shop = data.shops.get(conn, {}).get("shopify_shop_domain", "")
    unexplained = dec(row["unexplained_difference"])
    items = [
        ("net_settlement", "Net settlement", money(row["net_settlement"], cur), ""),
        ("expected_settlement", "Expected settlement", money(row["expected_settlement"], cur), ""),
        (
            "unexplained_difference",
            "Unexplained difference",
            money(unexplained, cur),
            "ok" if unexplained == 0 else "bad",
        ),
        ("paid_out", "Paid out", money(row["paid_out"], cur), ""),
        ("total_fees", "Total fees", f"{money(row['total_fees'], cur)} ({pct_text(row['fee_pct'])})", ""),
        ("chargebacks", "Chargebacks", money(row["chargebacks"], cur), ""),
        (
            "unreconciled_count",
            "Unreconciled items",
            f"{int(row['unreconciled_count']):,}",
            "ok" if int(row["unreconciled_count"]) == 0 else "bad",
        ),
    ]
    dl = "".join(
        f'<dt>{esc(label)}</dt><dd id="kpi-{esc(conn)}-{esc(cur)}-{key}" class="{cls}">{esc(text)}</dd>'
        for key, label, text, cls in items
    )
    return f'<div class="card"><h3>{esc(conn)} · {esc(cur)}</h3><p class="sub">{esc(shop)}</p><dl>{dl}</dl></div>'


def _summary_table(data: PayoutData) -> str:
    """Line items down, connection × currency across: reads like a settlement statement."""
    groups = [(r["connection_id"], r["currency"], r) for r in data.summary]
    head = "".join(f"<th>{esc(c)} · {esc(cur)}</th>" for c, cur, _ in groups)
    body = []
    count_lines = [("weeks", "Weeks"), ("order_count", "Orders"), ("unreconciled_count", "Unreconciled items")]
    for key, label in SUMMARY_LINES:
        cls = ' class="total"' if key == "net_settlement" else ""
        cells = []
        for conn, cur, r in groups:
            amount = dec(r[key])
            neg = " neg" if amount < 0 else ""
            cells.append(
                f'<td class="num{neg}" id="total-{esc(conn)}-{esc(cur)}-{key}" data-value="{amount}">'
                f"{esc(money(amount, cur))}</td>"
            )
        body.append(f"<tr{cls}><td>{esc(label)}</td>{''.join(cells)}</tr>")
    fee_cells = "".join(f'<td class="num">{esc(pct_text(r["fee_pct"]))}</td>' for _, _, r in groups)
    body.append(f"<tr><td>Fees % of revenue</td>{fee_cells}</tr>")
    for key, label in count_lines:
        cells = "".join(
            f'<td class="num" id="total-{esc(c)}-{esc(cur)}-{key}" data-value="{int(r[key])}">{int(r[key]):,}</td>'
            for c, cur, r in groups
        )
        body.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
    return f'<table id="summary"><thead><tr><th>Line</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


WEEKLY_HTML_COLS = [
    Col("week", "ISO week"),
    Col("order_count", "Orders", "int"),
    Col("tiktok_revenue", "Revenue", "money"),
    Col("total_fees", "Fees", "money"),
    Col("shipping_costs", "Shipping", "money"),
    Col("chargebacks", "Chargebacks", "money"),
    Col("other_adjustments", "Adjustments", "money"),
    Col("net_settlement", "Net settlement", "money"),
    Col("expected_settlement", "Expected", "money"),
    Col("unexplained_difference", "Unexplained", "money"),
    Col("paid_out", "Paid out", "money"),
    Col("unreconciled_count", "Unreconciled", "int"),
]


def build_html(data: PayoutData) -> str:
    title = f"TikTok Shop payouts · {data.period.title}"
    scope = f"connection {data.connection}" if data.connection else "all connections"
    subtitle = [
        f"Basis: {BASIS_TEXT[data.basis]}.",
        f"Data as of {when(data.as_of)} UTC · generated {when(data.generated_at)} UTC · {scope}.",
    ]
    if open_week_note(data):
        subtitle.append(open_week_note(data))
    parts: list[str] = []
    if data.summary:
        parts.append('<section id="kpis"><div class="cards">')
        parts += [_kpi_card(data, r) for r in data.summary]
        parts.append("</div></section>")
    else:
        parts.append(
            '<p class="note" id="no-activity">No TikTok statements, transactions or payments in this period.</p>'
        )
    groups = data.groups()
    if groups:
        window = f"Weeks {iso_week_label(data.chart_weeks[0])} to {iso_week_label(data.chart_weeks[-1])}"
        if any(w not in data.period for w in data.chart_weeks):
            window += "; the shaded weeks are this report's period, the others are history for context"
        svgs = {g: chart_svgs(data, *g) for g in groups}
        parts.append('<section id="charts">')
        for kind, heading, caption in CHARTS:
            parts.append(f'<h2>{esc(heading)}</h2><p class="note">{esc(caption)} {esc(window)}.</p><div class="grid">')
            for conn, cur in groups:
                parts.append(
                    f"<figure><figcaption>{esc(conn)} · {esc(cur)}</figcaption>{svgs[(conn, cur)][kind]}</figure>"
                )
            parts.append("</div>")
        parts.append("</section>")
    parts.append(f'<section><h2>Summary</h2><p class="note">{esc(SIGNS_NOTE)}</p>{_summary_table(data)}</section>')
    parts.append("<section><h2>Weekly</h2>")
    for conn, cur in sorted({(r["connection_id"], r["currency"]) for r in data.weekly}):
        rows_ = [r for r in data.weekly if r["connection_id"] == conn and r["currency"] == cur]
        parts.append(
            f"<h3>{esc(conn)} · {esc(cur)}</h3>{table(WEEKLY_HTML_COLS, rows_, table_id=f'weekly-{conn}-{cur}')}"
        )
    parts.append("</section>")
    unrec_cols = [c for c in UNRECONCILED_COLS if c.key not in ("tiktok_statement_id", "in_weekly_count")]
    parts.append(
        f'<section><h2>Unreconciled items ({len(data.unreconciled):,})</h2><p class="note">Statements, payments and '
        "settled order lines that do not balance, with the reason.</p>"
        f"{table(unrec_cols, data.unreconciled, table_id='unreconciled', limit=300)}</section>"
    )
    missing_cols = [c for c in MISSING_COLS if c.key not in ("what_to_do", "currency")]
    parts.append(
        f"<section><h2>Orders missing on either side ({len(data.missing_orders):,} open now)</h2>"
        '<p class="note">Not limited to the period: an order on one platform only stays open until it is fixed. '
        "Missing on Shopify: create it in Shopify (the TikTok channel did not import it). Missing on TikTok: a "
        "Shopify order names a TikTok order that does not exist; check for a test or duplicate order.</p>"
        f"{table(missing_cols, data.missing_orders, table_id='missing-orders', limit=200)}</section>"
    )
    return page(title, subtitle, "".join(parts))


# --------------------------------------------------------------------------- entry point


def report_stem(period: Period, basis: str, connection: str | None) -> str:
    return f"payouts_{period.label}_{basis}" + (f"_{connection}" if connection else "")


def write_payout_report(
    warehouse: Path,
    out_dir: Path,
    *,
    week: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    basis: str = "settlement_date",
    connection: str | None = None,
    as_of: datetime | None = None,
) -> PayoutReport:
    """Read the marts (read-only, briefly), then write ``payouts_<period>_<basis>.xlsx`` and ``.html``.

    ``week`` takes ``2026-W47`` or any date in the week (a Dagster weekly partition key works as
    is); without a period, the last complete ISO week before ``as_of`` (default: the warehouse's
    build clock) is reported.
    """
    started = time.perf_counter()
    data = load_payout_data(
        warehouse, basis=basis, connection=connection, as_of=as_of, week=week, date_from=date_from, date_to=date_to
    )
    out_dir = Path(out_dir)
    stem = report_stem(data.period, basis, connection)
    xlsx = atomic_write_bytes(out_dir / f"{stem}.xlsx", _workbook_bytes(data))
    html = atomic_write_text(out_dir / f"{stem}.html", build_html(data))
    totals = [
        {
            "connection_id": r["connection_id"],
            "currency": r["currency"],
            "net_settlement": str(dec(r["net_settlement"])),
            "paid_out": str(dec(r["paid_out"])),
            "total_fees": str(dec(r["total_fees"])),
            "unexplained_difference": str(dec(r["unexplained_difference"])),
            "unreconciled_count": int(r["unreconciled_count"]),
        }
        for r in data.summary
    ]
    return PayoutReport(
        xlsx=xlsx,
        html=html,
        period_label=data.period.label,
        basis=basis,
        totals=totals,
        seconds=round(time.perf_counter() - started, 3),
    )
