"""Sheet writing for finance: real numbers with currency formats, frozen headers, filters, widths.

Finance re-sorts, filters and sums these sheets in Excel, so every amount is a number cell (never
a string) formatted in its row's currency, the header row is frozen and filtered, and columns are
wide enough to read without dragging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from shoptok.reports._format import dec, excel_money_format

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
TITLE_FONT = Font(bold=True, size=14)
NOTE_FONT = Font(italic=True, color="555555")
TOTAL_FONT = Font(bold=True)


@dataclass(frozen=True)
class Col:
    """One column: the row key it reads, its header, how to write it (kind) and an optional width."""

    key: str
    header: str
    kind: str = "text"  # text | money | int | number | pct | datetime | date | bool | list
    width: float | None = None


def _cell_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "money":
        return dec(value)  # a Decimal: openpyxl writes it as a number cell, exact to the cent
    if kind == "int":
        return int(value)
    if kind in ("pct", "number"):
        return value
    if kind == "list":
        return ", ".join(str(v) for v in value) if not isinstance(value, str) else value
    if kind == "bool":
        return bool(value)
    if kind in ("datetime", "date"):
        return value
    return str(value) if not isinstance(value, str) else value


def _display_len(kind: str, value: Any) -> int:
    if value is None:
        return 0
    if kind == "money":
        return len(f"{dec(value):,.2f}") + 2
    if kind == "datetime":
        return 16
    if kind == "date":
        return 10
    if kind == "pct":
        return 8
    return len(str(value))


def write_title(ws: Worksheet, lines: Sequence[str]) -> int:
    """Title and notes above a table; returns the next free row."""
    for i, line in enumerate(lines, start=1):
        cell = ws.cell(row=i, column=1, value=line)
        cell.font = TITLE_FONT if i == 1 else NOTE_FONT
    return len(lines) + 2 if lines else 1


def write_table(
    ws: Worksheet,
    cols: Sequence[Col],
    rows: Iterable[dict[str, Any]],
    *,
    header_row: int = 1,
    currency_key: str = "currency",
    default_currency: str | None = None,
    freeze_first_col: bool = False,
) -> int:
    """Header + rows; freezes and filters the header, sets number formats and widths. Returns the last row."""
    widths = [len(c.header) + 2 for c in cols]
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=header_row, column=j, value=col.header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    r = header_row
    for row in rows:
        r += 1
        currency = row.get(currency_key) or default_currency
        money_format = excel_money_format(currency) if currency else "#,##0.00;[Red]-#,##0.00"
        for j, col in enumerate(cols, start=1):
            raw = row.get(col.key)
            cell = ws.cell(row=r, column=j, value=_cell_value(col.kind, raw))
            if col.kind == "money":
                cell.number_format = money_format
            elif col.kind == "int":
                cell.number_format = "#,##0"
            elif col.kind == "pct":
                cell.number_format = "0.00%"
            elif col.kind == "number":
                cell.number_format = "#,##0.0"
            elif col.kind == "datetime":
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif col.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            widths[j - 1] = max(widths[j - 1], _display_len(col.kind, raw))
    last_col = get_column_letter(len(cols))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=2 if freeze_first_col else 1)
    ws.auto_filter.ref = f"A{header_row}:{last_col}{max(r, header_row)}"
    for j, col in enumerate(cols, start=1):
        width = col.width if col.width is not None else min(max(widths[j - 1], 8), 60)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.row_dimensions[header_row].height = 30
    return r


def write_notes(ws: Worksheet, start_row: int, notes: Sequence[str]) -> None:
    for i, note in enumerate(notes):
        ws.cell(row=start_row + i, column=1, value=note).font = NOTE_FONT


def is_money_format(number_format: str, currency_symbol: str) -> bool:
    """Used by tests and checks: a money cell's format shows its currency's symbol."""
    return currency_symbol in number_format and "0.00" in number_format
