"""Parameter parsing, filtered+sorted views and keyset page tokens shared by every list endpoint.

A *view* is one query's result: the records that pass its filters, sorted ascending by
``(sort value, id)``.  Views are cached per connection and dropped on any write, so paging
through tens of thousands of orders costs one filter pass plus a bisect per page.

Page tokens are opaque: base64url (unpadded) of ``{"k": [sort value, id], "q": digest}``, the
key of the last record served and a digest of the query (filters, sort field, direction).  The
next page starts strictly after that key, so pages never repeat a record even when page sizes
change mid-stream, and a token replayed with other filters is rejected.  The last page carries
``next_page_token == ""``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.recordstore import LazyRecords, is_disk
from sandbox.tiktok_shop.errors import invalid_param

Record = dict[str, Any]
Key = tuple[int, str]

_OPS: dict[str, Callable[[int, int], bool]] = {
    "ge": lambda v, b: v >= b,
    "gt": lambda v, b: v > b,
    "le": lambda v, b: v <= b,
    "lt": lambda v, b: v < b,
}


@dataclass
class View:
    keys: list[Key]
    records: Sequence[Record]

    def __len__(self) -> int:
        return len(self.records)


def build_view(
    records: Iterable[Record],
    predicate: Callable[[Record], bool],
    sort_field: str,
    id_field: str = "id",
) -> View:
    if is_disk(records):
        # filter and sort the slim rows (they hold every field a predicate reads); decode per page
        store: Any = records
        slims = store.slim_rows()
        found = [((_int(r.get(sort_field)), str(r.get(id_field))), pos) for pos, r in enumerate(slims) if predicate(r)]
        found.sort(key=lambda p: p[0])
        return View(keys=[p[0] for p in found], records=store.at([p[1] for p in found]))
    if isinstance(records, LazyRecords):
        slims = records.store.slim_rows()
        found = [
            ((_int(slims[pos].get(sort_field)), str(slims[pos].get(id_field))), pos)
            for pos in records.positions
            if predicate(slims[pos])
        ]
        found.sort(key=lambda p: p[0])
        return View(keys=[p[0] for p in found], records=records.store.at([p[1] for p in found]))
    pairs = [((_int(r.get(sort_field)), str(r.get(id_field))), r) for r in records if predicate(r)]
    pairs.sort(key=lambda p: p[0])
    return View(keys=[p[0] for p in pairs], records=[p[1] for p in pairs])


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def digest(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]  # noqa: S324 - not security relevant


def encode_token(key: Key, query_digest: str) -> str:
    raw = json.dumps({"k": [key[0], key[1]], "q": query_digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query_digest: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        obj = json.loads(raw)
        key = obj["k"]
        if obj["q"] != query_digest:
            raise ValueError("digest mismatch")
        if not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], int) and isinstance(key[1], str)):
            raise ValueError("bad key")
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise invalid_param("page_token is malformed or belongs to a different query") from None
    return (key[0], key[1])


def take_page(view: View, page_size: int, token: str, query_digest: str, desc: bool) -> tuple[list[Record], str]:
    """One page of ``view`` after ``token``; the token for the next page, or "" on the last page."""
    n = len(view.records)
    if desc:
        start = bisect_left(view.keys, decode_token(token, query_digest)) - 1 if token else n - 1
        stop = max(start - page_size, -1)
        idx = range(start, stop, -1)
        more = stop >= 0
    else:
        start = bisect_right(view.keys, decode_token(token, query_digest)) if token else 0
        stop = min(start + page_size, n)
        idx = range(start, stop)
        more = stop < n
    items = [view.records[i] for i in idx]
    next_token = encode_token(view.keys[idx[-1]], query_digest) if (more and items) else ""
    return items, next_token


# --------------------------------------------------------------------------- parameter parsing


def page_size(src: Mapping[str, Any], lo: int, hi: int, default: int | None = None) -> int:
    raw = src.get("page_size")
    if raw is None or raw == "":
        if default is None:
            raise invalid_param(f"page_size is required (between {lo} and {hi})")
        return default
    value = _strict_int(raw, "page_size")
    if not lo <= value <= hi:
        raise invalid_param(f"page_size must be between {lo} and {hi}, got {value}")
    return value


def sort_order(src: Mapping[str, Any], default: str = "DESC") -> bool:
    """True for descending."""
    raw = (src.get("sort_order") or default).upper()
    if raw not in ("ASC", "DESC"):
        raise invalid_param(f"sort_order must be ASC or DESC, got {src.get('sort_order')!r}")
    return raw == "DESC"


def sort_field(src: Mapping[str, Any], allowed: tuple[str, ...], default: str | None) -> str:
    raw = src.get("sort_field") or default
    if raw is None:
        raise invalid_param(f"sort_field is required ({'|'.join(allowed)})")
    if raw not in allowed:
        raise invalid_param(f"sort_field must be one of {'|'.join(allowed)}, got {raw!r}")
    return raw


def _strict_int(raw: Any, name: str) -> int:
    if isinstance(raw, bool):
        raise invalid_param(f"{name} must be an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    raise invalid_param(f"{name} must be an integer, got {raw!r}")


def time_filters(src: Mapping[str, Any], names: Iterable[str]) -> list[tuple[str, str, int]]:
    """``create_time_ge`` -> ("create_time", "ge", value) for every name present (Unix seconds)."""
    out = []
    for name in names:
        raw = src.get(name)
        if raw is None or raw == "":
            continue
        field, _, op = name.rpartition("_")
        out.append((field, op, _strict_int(raw, name)))
    return out


def time_predicate(filters: list[tuple[str, str, int]]) -> Callable[[Record], bool]:
    compiled = [(f, _OPS[op], b) for f, op, b in filters]

    def pred(rec: Record) -> bool:
        for field, op, bound in compiled:
            value = rec.get(field)
            if value is None or not op(int(value), bound):
                return False
        return True

    return pred


def str_list(src: Mapping[str, Any], name: str, max_len: int | None = None) -> list[str] | None:
    raw = src.get(name)
    if raw is None:
        return None
    if isinstance(raw, str):  # tolerate "a,b" where a list is expected
        raw = [p for p in raw.split(",") if p]
    if not isinstance(raw, list) or not all(isinstance(x, str | int) and not isinstance(x, bool) for x in raw):
        raise invalid_param(f"{name} must be a list of strings")
    if max_len is not None and len(raw) > max_len:
        raise invalid_param(f"{name} accepts at most {max_len} values, got {len(raw)}")
    return [str(x) for x in raw]


def str_value(src: Mapping[str, Any], name: str, allowed: Iterable[str] | None = None) -> str | None:
    raw = src.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise invalid_param(f"{name} must be a string")
    if allowed is not None and raw not in allowed:
        raise invalid_param(f"{name} must be one of {'|'.join(allowed)}, got {raw!r}")
    return raw
