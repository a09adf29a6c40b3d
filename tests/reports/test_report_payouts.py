"""The payout workbook and HTML tie to the marts to the cent, on both bases.

Expected values are computed here with SQL straight on the marts, never through the report's
own loader, so a bug in the loader cannot hide itself. Workbook cells are read back with
openpyxl (numbers, not strings); HTML totals are read by their stable ids / data attributes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import duckdb
import openpyxl
import pytest

from shoptok.reports._format import SYMBOLS, money
from shoptok.reports.payouts import BASES, MART_MONEY, SHEETS, write_payout_report
from shoptok.reports.period import iso_week_label

pytestmark = pytest.mark.slow
CENT = Decimal("0.01")
MART_COLS = [k for k, _ in MART_MONEY]


def d(value) -> Decimal:
    """A workbook number (float/int) or HTML data-value back to cents."""
    return Decimal(str(value)).quantize(CENT)


def mart_totals(warehouse, basis: str, first: date, last: date) -> dict[tuple[str, str], dict[str, Decimal | int]]:
    sums = ", ".join(f"sum({c}) as {c}" for c in MART_COLS)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute(
            f"""select connection_id, currency, {sums}, sum(order_count) as order_count,
                       sum(unreconciled_count) as unreconciled_count, count(*) as weeks
                from marts.rpt_weekly_payout_reconciliation
                where basis = ? and week_start between ? and ?
                group by 1, 2""",
            [basis, first, last],
        )
        names = [x[0] for x in cur.description]
        out = {}
        for row in cur.fetchall():
            r = dict(zip(names, row, strict=True))
            out[(r["connection_id"], r["currency"])] = r
        return out
    finally:
        con.close()


def mart_weekly(warehouse, basis: str) -> dict[tuple[str, str, str], dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute("select * from marts.rpt_weekly_payout_reconciliation where basis = ?", [basis])
        names = [x[0] for x in cur.description]
        out = {}
        for row in cur.fetchall():
            r = dict(zip(names, row, strict=True))
            out[(r["connection_id"], r["currency"], iso_week_label(r["week_start"]))] = r
        return out
    finally:
        con.close()


def sheet_rows(ws, header_row: int | None = None) -> list[dict]:
    if header_row is None:
        header_row = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Connection")
    headers = [c.value for c in ws[header_row]]
    rows = []
    for values in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if all(v is None for v in values):
            continue
        rows.append(dict(zip(headers, values, strict=True)))
    return rows


LABEL = dict(MART_MONEY)


# --------------------------------------------------------------------------- workbook


def test_workbook_has_the_sheets_frozen_filtered_and_sized(payout_reports):
    for basis in BASES:
        report, _ = payout_reports[basis]
        wb = openpyxl.load_workbook(report.xlsx)
        assert wb.sheetnames == SHEETS
        for required in (
            "Summary",
            "Statements",
            "Unreconciled items",
            "Fees breakdown",
            "Adjustments & chargebacks",
            "Orders missing on either side",
        ):
            assert required in wb.sheetnames
        for ws in wb:
            assert ws.freeze_panes is not None, ws.title
            assert ws.auto_filter.ref, ws.title
            for col in range(1, ws.max_column + 1):
                letter = openpyxl.utils.get_column_letter(col)
                assert ws.column_dimensions[letter].width and ws.column_dimensions[letter].width >= 7, (
                    ws.title,
                    letter,
                )


@pytest.mark.parametrize("basis", BASES)
def test_workbook_summary_ties_to_the_mart_to_the_cent(payout_reports, built_merchant, full_period, basis):
    report, _ = payout_reports[basis]
    expected = mart_totals(built_merchant.warehouse, basis, full_period.first_week, full_period.last_week)
    ws = openpyxl.load_workbook(report.xlsx)["Summary"]
    header_row = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Connection")
    headers = {c.value: c.column for c in ws[header_row]}
    got = sheet_rows(ws, header_row)
    assert {(r["Connection"], r["Currency"]) for r in got} == set(expected)
    for i, row in enumerate(got):
        mart = expected[(row["Connection"], row["Currency"])]
        symbol = SYMBOLS[row["Currency"]]
        for col in MART_COLS:
            value = row[LABEL[col]]
            assert isinstance(value, int | float), (col, value)  # a number cell, not text
            assert d(value) == mart[col], (basis, row["Connection"], col, value, mart[col])
            number_format = ws.cell(header_row + 1 + i, headers[LABEL[col]]).number_format
            assert number_format.startswith(f"{symbol}#,##0.00"), number_format
        assert d(row["Expected settlement"]) == mart["net_settlement"] - mart["unexplained_difference"]
        assert row["Orders"] == mart["order_count"]
        assert row["Unreconciled items"] == mart["unreconciled_count"]
        assert row["Weeks"] == mart["weeks"]


@pytest.mark.parametrize("basis", BASES)
def test_every_detail_sheet_sums_to_the_summary(payout_reports, built_merchant, full_period, basis):
    report, _ = payout_reports[basis]
    expected = mart_totals(built_merchant.warehouse, basis, full_period.first_week, full_period.last_week)
    wb = openpyxl.load_workbook(report.xlsx)

    def sums(sheet: str, column: str, where=lambda r: True) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = defaultdict(lambda: Decimal("0.00"))
        for r in sheet_rows(wb[sheet]):
            if where(r) and r[column] is not None:
                out[(r["Connection"], r["Currency"])] += d(r[column])
        return out

    weekly = {c: sums("Weekly", LABEL[c]) for c in MART_COLS}
    fees = {
        c: sums("Fees breakdown", LABEL[c])
        for c in (
            "platform_commission",
            "referral_fees",
            "transaction_fees",
            "affiliate_commission",
            "other_fees",
            "total_fees",
        )
    }
    chargebacks = sums("Adjustments & chargebacks", "Chargeback")
    adjustments = sums("Adjustments & chargebacks", "Other adjustment")
    unreconciled: dict[tuple[str, str], int] = defaultdict(int)
    for r in sheet_rows(wb["Unreconciled items"]):
        assert r["Why it does not balance"], r
        if r["In weekly unreconciled count"]:
            unreconciled[(r["Connection"], r["Currency"])] += 1
    for key, mart in expected.items():
        for c in MART_COLS:
            assert weekly[c][key] == mart[c], ("Weekly", key, c)
        for c, got in fees.items():
            assert got[key] == mart[c], ("Fees breakdown", key, c)
        assert chargebacks[key] == mart["chargebacks"], key
        assert adjustments[key] == mart["other_adjustments"], key
        assert unreconciled[key] == mart["unreconciled_count"], key
    if basis == "settlement_date":
        statements = sums("Statements", "Statement settlement")
        paid = sums("Payments", "Paid out")
        held = sums("Payments", "Reserve held")
        released = sums("Payments", "Reserve released")
        for key, mart in expected.items():
            assert statements[key] == mart["net_settlement"], key
            assert paid[key] == mart["paid_out"], key
            assert held[key] == mart["reserves_held"], key
            assert released[key] == mart["reserves_released"], key


def test_unreconciled_items_explain_themselves(payout_reports):
    report, _ = payout_reports["settlement_date"]
    rows = sheet_rows(openpyxl.load_workbook(report.xlsx)["Unreconciled items"])
    kinds = {r["Item"] for r in rows}
    assert {"statement", "payment", "order line"} <= kinds, kinds
    for r in rows:
        assert r["Reason code"] and r["Why it does not balance"]
        if r["Item"] == "statement" and r["Reason code"] == "statement_mismatch":
            assert d(r["TikTok amount"]) - d(r["Should be"]) == d(r["Difference"])


def test_missing_orders_sheet_lists_both_sides(payout_reports, built_merchant):
    report, _ = payout_reports["settlement_date"]
    rows = sheet_rows(openpyxl.load_workbook(report.xlsx)["Orders missing on either side"])
    con = duckdb.connect(str(built_merchant.warehouse), read_only=True)
    try:
        n = con.execute(
            "select count(*) from marts.fct_order_reconciliation where list_contains(drift_flags, 'missing_in_shopify')"
            " or list_contains(drift_flags, 'orphan_in_shopify')"
        ).fetchone()[0]
    finally:
        con.close()
    assert len(rows) == n > 0
    assert {r["Missing on"] for r in rows} == {"Shopify", "TikTok"}
    assert all(r["What to do"] for r in rows)


# --------------------------------------------------------------------------- HTML


class _Collect(HTMLParser):
    """Elements with an id, their attributes and text; and every svg data point."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.svgs: dict[str, dict] = {}
        self.points: dict[str, list[dict]] = defaultdict(list)
        self._open: list[str] = []
        self._svg: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self._svg = a.get("id")
            self.svgs[self._svg] = a
        if tag in ("rect", "circle") and a.get("class") == "datum":
            self.points[self._svg].append({"tag": tag, **a})
        if "id" in a:
            self.by_id[a["id"]] = {"tag": tag, "attrs": a, "text": ""}
            self._open.append(a["id"])
        else:
            self._open.append("")

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        if self._open:
            self._open.pop()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data):
        for ident in self._open:
            if ident:
                self.by_id[ident]["text"] += data


def parse_html(path) -> _Collect:
    p = _Collect()
    p.feed(path.read_text())
    return p


@pytest.mark.parametrize("basis", BASES)
def test_html_totals_tie_to_the_mart_to_the_cent(payout_reports, built_merchant, full_period, basis):
    report, _ = payout_reports[basis]
    expected = mart_totals(built_merchant.warehouse, basis, full_period.first_week, full_period.last_week)
    page = parse_html(report.html)
    assert expected
    for (conn, cur), mart in expected.items():
        for col in MART_COLS:
            el = page.by_id[f"total-{conn}-{cur}-{col}"]
            assert d(el["attrs"]["data-value"]) == mart[col], (basis, conn, col)
            assert el["text"].strip() == money(mart[col], cur), (el["text"], mart[col])
        for col in ("order_count", "unreconciled_count"):
            assert int(page.by_id[f"total-{conn}-{cur}-{col}"]["attrs"]["data-value"]) == mart[col]
        for col in ("net_settlement", "paid_out", "unexplained_difference", "chargebacks"):
            assert page.by_id[f"kpi-{conn}-{cur}-{col}"]["text"].strip() == money(mart[col], cur)


@pytest.mark.parametrize("basis", BASES)
def test_html_has_one_svg_per_chart_with_a_point_per_week(payout_reports, built_merchant, basis):
    report, data = payout_reports[basis]
    page = parse_html(report.html)
    weekly = mart_weekly(built_merchant.warehouse, basis)
    weeks = [iso_week_label(w) for w in data.chart_weeks]
    groups = sorted({(c, cur) for (c, cur, _) in weekly})
    kinds = {
        "net_vs_expected": ["net_settlement", "expected_settlement"],
        "fee_stack": None,
        "unexplained_trend": ["unexplained_difference"],
        "chargebacks": ["chargebacks"],
    }
    assert len(page.svgs) == len(kinds) * len(groups)
    for conn, cur in groups:
        for kind, series in kinds.items():
            chart_id = f"chart-{kind}-{conn}-{cur}"
            assert chart_id in page.svgs, chart_id
            points = page.points[chart_id]
            assert {p["data-week"] for p in points} == set(weeks), chart_id
            for s in series or sorted({p["data-series"] for p in points}):
                mine = [p for p in points if p["data-series"] == s]
                assert [p["data-week"] for p in mine] == weeks, (chart_id, s)
                for p in mine:
                    row = weekly.get((conn, cur, p["data-week"]))
                    if s == "expected_settlement":
                        want = row["net_settlement"] - row["unexplained_difference"] if row else Decimal("0.00")
                    else:
                        want = row[s] if row else Decimal("0.00")
                    assert d(p["data-value"]) == want, (chart_id, s, p["data-week"])


def test_html_is_self_contained(payout_reports):
    text = payout_reports["settlement_date"][0].html.read_text()
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']https?://""", text)
    assert "<link" not in text


# --------------------------------------------------------------------------- periods, filters


def test_default_period_is_the_last_complete_week_before_the_data_clock(built_merchant, tmp_path):
    report = write_payout_report(built_merchant.warehouse, tmp_path)
    as_of = built_merchant.as_of
    this_monday = as_of.date() - timedelta(days=as_of.date().weekday())
    last_week = this_monday - timedelta(days=7)
    assert report.period_label == iso_week_label(last_week)
    assert report.xlsx.name == f"payouts_{iso_week_label(last_week)}_settlement_date.xlsx"
    expected = mart_totals(built_merchant.warehouse, "settlement_date", last_week, last_week)
    assert {(t["connection_id"], t["currency"]): d(t["net_settlement"]) for t in report.totals} == {
        k: v["net_settlement"] for k, v in expected.items()
    }


def test_one_connection_and_one_week(built_merchant, full_period, tmp_path):
    week = iso_week_label(full_period.last_week - timedelta(days=7))
    report = write_payout_report(built_merchant.warehouse, tmp_path, week=week, connection="us", basis="order_date")
    assert report.xlsx.name == f"payouts_{week}_order_date_us.xlsx"
    wb = openpyxl.load_workbook(report.xlsx)
    for name in SHEETS[:-1]:
        assert {r["Connection"] for r in sheet_rows(wb[name])} <= {"us"}, name
    page = parse_html(report.html)
    assert all("-uk-" not in ident for ident in page.svgs)


def test_a_week_without_data_still_writes_both_files(built_merchant, tmp_path):
    report = write_payout_report(built_merchant.warehouse, tmp_path, week="2020-W01")
    assert openpyxl.load_workbook(report.xlsx).sheetnames == SHEETS
    assert 'id="no-activity"' in report.html.read_text()
    assert report.totals == []
