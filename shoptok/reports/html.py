"""Static, self-contained HTML: inline CSS and SVG, no scripts, no network.

Reports are mailed, attached to tickets and opened from Dagster's asset page, so one file must
carry everything. Tables reuse the workbook's column definitions (``Col``) so the two outputs
print the same values; money cells carry ``data-value`` with the exact decimal so tests (and a
curious analyst) can read the number without parsing ``$1,234.56``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from shoptok.reports._format import dec, money, pct_text, when
from shoptok.reports._xlsx import Col

CSS = """
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
 color:#1b1b1b;background:#fff;font-size:14px;line-height:1.4}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 6px;border-bottom:2px solid #1f3a5f;padding-bottom:4px}
h3{font-size:14px;margin:0 0 4px}
p.sub{margin:2px 0;color:#555}
p.note{color:#555;margin:4px 0 10px;max-width:1100px}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin-top:16px}
.card{border:1px solid #d7dce3;border-radius:8px;padding:12px 16px;min-width:300px;flex:1;background:#f8fafc}
.card dl{display:grid;grid-template-columns:auto auto;gap:2px 18px;margin:6px 0 0}
.card dt{color:#555}
.card dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;font-weight:600}
.ok{color:#1b7f3b}.bad{color:#c62828}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px 24px}
figure{margin:0}
figcaption{font-weight:600;margin:4px 0}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#1f3a5f;color:#fff;font-weight:600;position:sticky;top:0}
td.num{text-align:right;white-space:nowrap}
td.nowrap{white-space:nowrap}
td.neg{color:#b3261e}
tr.total td{font-weight:700;border-top:2px solid #1f3a5f}
.muted{color:#777}
.pill{display:inline-block;padding:0 6px;border-radius:9px;background:#eef2f7;font-size:12px;margin:0 2px 2px 0}
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value))


def page(title: str, subtitle: Sequence[str], body: str) -> str:
    subs = "".join(f'<p class="sub">{esc(s)}</p>' for s in subtitle)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{CSS}</style></head><body><header><h1>{esc(title)}</h1>{subs}</header>{body}</body></html>\n"
    )


def cell(col: Col, row: dict[str, Any], currency: str | None, extra_attrs: str = "") -> str:
    """One ``<td>``: money right-aligned with its exact value in ``data-value``."""
    value = row.get(col.key)
    attrs = extra_attrs
    if col.kind == "money":
        if value is None:
            return f'<td class="num"{attrs}></td>'
        amount = dec(value)
        cls = "num neg" if amount < 0 else "num"
        return f'<td class="{cls}" data-value="{amount}"{attrs}>{esc(money(amount, currency or ""))}</td>'
    if col.kind == "int":
        return f'<td class="num"{attrs}>{"" if value is None else f"{int(value):,}"}</td>'
    if col.kind == "pct":
        return f'<td class="num"{attrs}>{esc(pct_text(value))}</td>'
    if col.kind == "number":
        return f'<td class="num"{attrs}>{"" if value is None else f"{value:,.1f}"}</td>'
    if col.kind in ("datetime", "date"):
        return f'<td class="nowrap"{attrs}>{esc(when(value))}</td>'
    if col.kind == "list":
        items = [] if value is None else [value] if isinstance(value, str) else list(value)
        return f"<td{attrs}>{''.join(f'<span class=pill>{esc(v)}</span>' for v in items)}</td>"
    if col.kind == "bool":
        return f"<td{attrs}>{'yes' if value else 'no'}</td>"
    return f"<td{attrs}>{esc(value)}</td>"


def table(
    cols: Sequence[Col],
    rows: Iterable[dict[str, Any]],
    *,
    table_id: str | None = None,
    currency_key: str = "currency",
    limit: int | None = None,
) -> str:
    """A plain table; ``limit`` caps long lists (the workbook has every row) and says how many were cut."""
    rows = list(rows)
    shown = rows if limit is None else rows[:limit]
    head = "".join(f"<th>{esc(c.header)}</th>" for c in cols)
    body = []
    for row in shown:
        currency = row.get(currency_key)
        body.append("<tr>" + "".join(cell(c, row, currency) for c in cols) + "</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    more = ""
    if limit is not None and len(rows) > limit:
        more = f'<p class="note">… and {len(rows) - limit:,} more rows in the workbook / CSV.</p>'
    return (
        f'<table{ident} data-rows="{len(rows)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}"
    )


def money_attr(value: Decimal) -> str:
    return str(dec(value))
