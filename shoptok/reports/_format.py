"""How money, counts and times are printed: one place, so the workbook and the HTML agree.

Amounts stay ``Decimal`` (the marts' DECIMAL(18,2)) until they are printed or written to a cell;
a float would round 0.1 + 0.2 and a report that is one cent off is a report finance re-does.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$", "AUD": "A$", "JPY": "¥", "SGD": "S$", "MXN": "MX$"}


def dec(value: object) -> Decimal:
    """A cent-exact Decimal from a mart value (``None`` → 0.00)."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    return Decimal(str(value)).quantize(CENT)


def money(value: object, currency: str) -> str:
    """``$1,234.56`` / ``−£42.13`` (a real minus sign: it reads as one in every font)."""
    amount = dec(value)
    sign = "−" if amount < 0 else ""
    symbol = SYMBOLS.get(currency)
    body = f"{abs(amount):,.2f}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"


def compact_money(value: float, currency: str) -> str:
    """Axis labels: ``$12k``, ``£850``, ``−$1.2k``."""
    symbol = SYMBOLS.get(currency, "")
    sign = "−" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        body = f"{v / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    elif v >= 1000:
        body = f"{v / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    elif v == int(v):
        body = f"{int(v)}"
    else:
        body = f"{v:.2f}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"


def excel_money_format(currency: str) -> str:
    """Per-currency number format: ``$#,##0.00`` for USD, ``£#,##0.00`` for GBP; negatives in red."""
    symbol = SYMBOLS.get(currency)
    if symbol is None:
        positive = f'#,##0.00 "{currency}"'
    elif symbol == "$" or symbol in ("£", "€", "¥"):
        positive = f"{symbol}#,##0.00"
    else:
        positive = f'"{symbol}"#,##0.00'
    return f"{positive};[Red]-{positive}"


def pct(part: object, whole: object) -> Decimal | None:
    """``part / whole`` as a fraction (None when whole is 0): fees as a share of revenue."""
    w = dec(whole)
    if w == 0:
        return None
    return (dec(part) / w).quantize(Decimal("0.0001"))


def pct_text(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.2f}%"


def when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%Y-%m-%d}"


def age_text(hours: float | None) -> str:
    """``3.2 h`` under two days, ``12 d`` after: the precision a person acts on."""
    if hours is None:
        return "—"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.0f} d"
