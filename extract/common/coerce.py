"""Field coercion with errors that name the field and the reason, for quarantine.

Money stays ``Decimal``: floats, exponent notation, NaN/Infinity and amounts finer than the
currency's minor unit are refused, never rounded. Extra decimal places that are all zeros
("1000.0" JPY, "12.500" USD) are exact, so they are accepted and the amount is kept at the
currency's scale (docs/reliability.md, rule R1). Unknown enum values are refused (and so
quarantined), never coerced. Integers must fit the warehouse's BIGINT: a larger one would fail
the whole load, so it is refused here, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

#: minor units per ISO currency; anything unlisted is allowed 2
MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "IDR": 0, "KWD": 3, "BHD": 3}
_MONEY_RE = re.compile(r"^-?[0-9]{1,15}(\.[0-9]+)?$")  # ASCII digits only: Decimal reads "١٢٣" as 123
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class InvalidField(ValueError):
    def __init__(self, field: str, reason: str, value: Any = None) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__(f"field '{field}': {reason}")


def money(value: Any, field: str, currency: str | None = None, *, nullable: bool = False) -> Decimal | None:
    if value is None or value == "":
        if nullable:
            return None
        raise InvalidField(field, "money is missing", value)
    if isinstance(value, bool | float):
        raise InvalidField(field, f"money must be a decimal string, got {type(value).__name__} {value!r}", value)
    text = str(value).strip()
    if not _MONEY_RE.match(text):
        raise InvalidField(field, f"not a plain decimal amount: {text[:40]!r}", value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidField(field, f"not a decimal: {text[:40]!r}", value) from None
    places = MINOR_UNITS.get((currency or "").upper(), 2)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        exact = amount.quantize(Decimal(1).scaleb(-places))
        if exact != amount:
            raise InvalidField(field, f"{text} has more than {places} decimals for {currency or 'the currency'}", value)
        return exact
    return amount


def timestamp_iso(value: Any, field: str, *, nullable: bool = False) -> datetime | None:
    if value is None or value == "":
        if nullable:
            return None
        raise InvalidField(field, "timestamp is missing", value)
    if not isinstance(value, str):
        raise InvalidField(field, f"timestamp must be an ISO-8601 string, got {type(value).__name__}", value)
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField(field, f"not an ISO-8601 timestamp: {value[:40]!r}", value) from None
    if ts.tzinfo is None:
        raise InvalidField(field, f"timestamp has no time zone: {value[:40]!r}", value)
    return _in_range(ts.astimezone(UTC), field, value)


def timestamp_unix(value: Any, field: str, *, nullable: bool = False) -> datetime | None:
    if value is None or value == "" or (nullable and value == 0):
        if nullable:
            return None
        raise InvalidField(field, "timestamp is missing", value)
    if isinstance(value, bool | float):
        raise InvalidField(field, f"Unix timestamp must be an integer, got {type(value).__name__}", value)
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise InvalidField(field, f"not a Unix timestamp: {value[:40]!r}", value)
        value = int(value)
    if not isinstance(value, int):
        raise InvalidField(field, f"Unix timestamp must be an integer, got {type(value).__name__}", value)
    if value > 10**11:  # milliseconds sent where seconds are documented
        raise InvalidField(field, f"{value} looks like milliseconds; the API sends seconds", value)
    try:
        ts = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidField(field, f"{str(value)[:40]} is not a representable Unix time", value) from None
    return _in_range(ts, field, value)


def _in_range(ts: datetime, field: str, raw: Any) -> datetime:
    if not MIN_TS <= ts < MAX_TS:
        raise InvalidField(field, f"timestamp {ts.isoformat()} is outside {MIN_TS.year}-{MAX_TS.year}", raw)
    return ts


def enum(value: Any, field: str, allowed: Collection[str], *, nullable: bool = False) -> str | None:
    if value is None or value == "":
        if nullable:
            return None
        raise InvalidField(field, "value is missing", value)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidField(field, f"unknown value {str(value)[:60]!r} (expected one of {sorted(allowed)})", value)
    return value


def identifier(value: Any, field: str, *, max_len: int = 255) -> str:
    if value is None or value == "":
        raise InvalidField(field, "id is missing", value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidField(field, f"id must be a string, got {type(value).__name__}", value)
    text = str(value)
    if len(text) > max_len:
        raise InvalidField(field, f"id is {len(text)} characters long (max {max_len})", value)
    return unicode_text(text, field)


def unicode_text(value: str, field: str) -> str:
    """A string the warehouse can store: JSON may carry lone surrogates (``"\\ud800"``), UTF-8 cannot,
    and one of them would fail the whole load, so its record is refused here instead."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidField(field, f"not valid Unicode (lone surrogate at position {exc.start})", value) from None
    return value


def integer(value: Any, field: str, *, minimum: int | None = None, nullable: bool = False) -> int | None:
    if value is None:
        if nullable:
            return None
        raise InvalidField(field, "value is missing", value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"must be an integer, got {type(value).__name__} {str(value)[:40]!r}", value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidField(field, f"{str(value)[:40]} does not fit a 64-bit integer", value)
    if minimum is not None and value < minimum:
        raise InvalidField(field, f"{value} is below the minimum {minimum}", value)
    return value


def text(value: Any, field: str, *, max_len: int = 10_000, nullable: bool = True) -> str | None:
    if value is None:
        if nullable:
            return None
        raise InvalidField(field, "value is missing", value)
    if not isinstance(value, str):
        raise InvalidField(field, f"must be a string, got {type(value).__name__}", value)
    if len(value) > max_len:
        raise InvalidField(field, f"string is {len(value)} characters long (max {max_len})", value)
    return unicode_text(value, field)
