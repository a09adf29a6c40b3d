"""What a handler sees: the authenticated connection, parsed parameters and write helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.context import SandboxContext
from sandbox.state import ConnectionState
from sandbox.tiktok_shop.errors import invalid_param
from sandbox.tiktok_shop.index import ShopIndex

Record = dict[str, Any]
CENT = Decimal("0.01")


@dataclass
class Call:
    ctx: SandboxContext
    #: the shop the request is for (None on /authorization/202309/shops)
    conn: ConnectionState | None
    #: every shop the access token may act for
    shops: list[ConnectionState]
    index: ShopIndex | None
    query: dict[str, str]
    path_params: dict[str, str]
    raw_body: bytes
    _body: Record | None = field(default=None, init=False)
    _stamp: int | None = field(default=None, init=False)

    @property
    def idx(self) -> ShopIndex:
        assert self.index is not None
        return self.index

    def body(self) -> Record:
        if self._body is None:
            if not self.raw_body.strip():
                self._body = {}
            else:
                try:
                    parsed = json.loads(self.raw_body)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise invalid_param("request body is not valid JSON") from None
                if not isinstance(parsed, dict):
                    raise invalid_param("request body must be a JSON object")
                self._body = parsed
        return self._body

    def stamp(self) -> int:
        """The merchant-clock time of this request's write (one stamp per request)."""
        if self._stamp is None:
            self._stamp = int(self.ctx.state.clock.stamp().timestamp())
        return self._stamp

    def wrote(self, name: str, *, added_records: bool = False) -> None:
        self.ctx.counters.incr(f"tiktok.writes.{name}")
        if added_records:
            self.idx.invalidate()
        else:
            self.idx.contents_changed()


def money(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def fmt(value: Decimal) -> str:
    return str(value.quantize(CENT))
