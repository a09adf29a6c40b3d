"""Shopify's search syntax for the ``query:`` argument of list fields.

Supported: ``field:value``, the comparators ``field:>v``, ``:>=``, ``:<``, ``:<=``, values bare or
quoted with ``'`` or ``"``, ``AND`` (also implicit between terms), ``OR``, ``NOT`` / ``-term``,
parentheses, ``*`` as a trailing wildcard on text values, and bare words (free text). Each entity
declares which fields it understands; an unknown field is ignored and reported back as a warning,
which is what Shopify does (``extensions.search[].warnings``), so a typo never silently narrows an
extract without a trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sandbox.state import iso, parse_ts

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lp>\() | (?P<rp>\)) |
        (?P<term>-?[A-Za-z_][\w.]*:(?:>=|<=|>|<|=)?\s*(?:'[^']*'|"[^"]*"|[^\s()]*)) |
        (?P<quoted>'[^']*'|"[^"]*") |
        (?P<word>[^\s()]+)
    )""",
    re.X,
)
_TERM = re.compile(r"""(?P<neg>-?)(?P<field>[A-Za-z_][\w.]*):(?P<op>>=|<=|>|<|=)?\s*(?P<value>.*)""", re.S)


class SearchError(ValueError):
    pass


@dataclass(frozen=True)
class Field:
    """How one search field reads a record: as a timestamp, a number, text, or a list of texts."""

    kind: str  # "time" | "id" | "text" | "texts" | "bool"
    get: Callable[[Record], Any]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _time_bound(raw: str) -> tuple[str, bool]:
    """Normalise a timestamp to the records' second-precision ISO form.

    Returns the ISO string and whether the input was a bare date (equality then means the day).
    """
    date_only = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw))
    try:
        ts = parse_ts(raw)
    except ValueError as exc:
        raise SearchError(f"invalid date {raw!r}") from exc
    return iso(ts), date_only


def _time_pred(get: Callable[[Record], Any], op: str, raw: str) -> Predicate:
    bound, date_only = _time_bound(raw)
    # Sub-second bounds: records carry whole seconds, so round the bound in the safe direction.
    ts = parse_ts(raw)
    if ts.microsecond:
        floor = iso(ts.replace(microsecond=0))
        ceil = iso(ts.replace(microsecond=0) + timedelta(seconds=1))
        op, bound = {">": (">=", ceil), ">=": (">=", ceil), "<": ("<", ceil), "<=": ("<=", floor)}.get(op, (op, bound))
    if op == "=" and date_only:
        start = bound
        end = iso(parse_ts(raw) + timedelta(days=1))
        return lambda r: start <= (get(r) or "") < end

    def pred(r: Record) -> bool:
        v = get(r)
        if v is None:
            return False
        if op == ">":
            return v > bound
        if op == ">=":
            return v >= bound
        if op == "<":
            return v < bound
        if op == "<=":
            return v <= bound
        return v == bound

    return pred


def gid_number(value: Any) -> int:
    """The numeric part of a gid (or a bare number): ``gid://shopify/Order/12?x=1`` -> 12."""
    s = str(value)
    if s.startswith("gid://"):
        s = s.rsplit("/", 1)[1].split("?", 1)[0]
    try:
        return int(s)
    except ValueError as exc:
        raise SearchError(f"invalid id {value!r}") from exc


def _id_pred(get: Callable[[Record], Any], op: str, raw: str) -> Predicate:
    bound = gid_number(raw)

    def pred(r: Record) -> bool:
        v = gid_number(get(r))
        return {
            ">": v > bound,
            ">=": v >= bound,
            "<": v < bound,
            "<=": v <= bound,
        }.get(op, v == bound)

    return pred


def _text_match(pattern: str) -> Callable[[Any], bool]:
    p = pattern.lower()
    if p.endswith("*"):
        prefix = p[:-1]
        return lambda v: v is not None and str(v).lower().startswith(prefix)
    return lambda v: v is not None and str(v).lower() == p


def _field_pred(field: Field, op: str, raw: str) -> Predicate:
    if field.kind == "time":
        return _time_pred(field.get, op, raw)
    if field.kind == "id":
        return _id_pred(field.get, op, raw)
    if field.kind == "bool":
        want = raw.lower() in ("true", "1", "yes")
        return lambda r: bool(field.get(r)) == want
    match = _text_match(raw)
    if field.kind == "texts":
        return lambda r: any(match(v) for v in field.get(r) or ())
    return lambda r: match(field.get(r))


class _Parser:
    def __init__(self, text: str, fields: dict[str, Field], free_text: Callable[[Record], str] | None):
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise SearchError(f"cannot parse search query near {text[pos:]!r}")
            pos = m.end()
            kind = m.lastgroup or "word"
            self.tokens.append((kind, m.group(kind)))
        self.i = 0
        self.fields = fields
        self.free_text = free_text
        self.warnings: list[dict[str, str]] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda r: True
        pred = self.or_expr()
        if self.peek() is not None:
            raise SearchError(f"unexpected {self.peek()[1]!r} in search query")  # type: ignore[index]
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) and tok == ("word", "OR"):
            self.i += 1
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while (tok := self.peek()) and tok[0] != "rp" and tok != ("word", "OR"):
            if tok == ("word", "AND"):
                self.i += 1
                continue
            parts.append(self.unary())
        parts = [p for p in parts if p is not _TRUE]
        if not parts:
            return _TRUE
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise SearchError("search query ends unexpectedly")
        if tok == ("word", "NOT"):
            self.i += 1
            inner = self.unary()
            return lambda r: not inner(r)
        if tok[0] == "lp":
            self.i += 1
            inner = self.or_expr()
            if self.peek() is None or self.peek()[0] != "rp":  # type: ignore[index]
                raise SearchError("unbalanced parentheses in search query")
            self.i += 1
            return inner
        self.i += 1
        kind, text = tok
        if kind == "term":
            return self.term(text)
        value = _unquote(text)
        negate = kind == "word" and value.startswith("-") and len(value) > 1
        if negate:
            value = value[1:]
        if self.free_text is None:
            self.warnings.append({"field": "default", "message": "Free-text search is not supported here."})
            return _TRUE
        needle = value.lower().rstrip("*")
        ft = self.free_text

        def pred(r: Record) -> bool:
            return needle in (ft(r) or "").lower()

        return (lambda r: not pred(r)) if negate else pred

    def term(self, text: str) -> Predicate:
        m = _TERM.fullmatch(text)
        assert m is not None
        name = m.group("field")
        op = m.group("op") or "="
        raw = _unquote(m.group("value").strip())
        field = self.fields.get(name)
        if field is None:
            self.warnings.append({"field": name, "message": "Invalid search field for this query."})
            return _TRUE
        pred = _field_pred(field, op, raw)
        if m.group("neg"):
            return lambda r: not pred(r)
        return pred


def _true(_: Record) -> bool:
    return True


_TRUE: Predicate = _true


def compile_query(
    text: str | None, fields: dict[str, Field], free_text: Callable[[Record], str] | None = None
) -> tuple[Predicate | None, list[dict[str, str]]]:
    """Compile a search string to a predicate (None when it matches everything) and its warnings."""
    if not text or not text.strip():
        return None, []
    parser = _Parser(text, fields, free_text)
    pred = parser.parse()
    return (None if pred is _TRUE else pred), parser.warnings
