"""Helpers for the TikTok emulator tests: an independent request signer and a small client.

The signer is written from the reference (platform-apis.md §1 "Signing"), not imported from the
sandbox, so a mistake shared by client and server cannot make the tests pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from sandbox.server import SandboxServer
from sandbox.state import MerchantState, load_state

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini_scenario"
APP_KEY = "6mini0appkey"
APP_SECRET = "mini-app-secret"
TOKEN = "TTP_mini_access_token"
CIPHER = "ROW_miniUScipher"
SHOP_ID = "7495000000000000001"
W_NEWARK, W_RENO, W_FBT = "7300000000000000001", "7300000000000000002", "7300000000000000009"
AS_OF = 1795176000  # 2026-11-20T12:00:00Z


def reference_sign(secret: str, path: str, params: dict[str, str], body: str = "") -> str:
    """The documented algorithm, step by step."""
    keys = sorted(k for k in params if k not in ("sign", "access_token"))  # 1-2
    joined = "".join(f"{k}{params[k]}" for k in keys)  # 3
    text = path + joined  # 4
    text += body  # 5 (JSON bodies are signed as sent)
    wrapped = f"{secret}{text}{secret}"  # 6
    return hmac.new(secret.encode("utf-8"), wrapped.encode("utf-8"), hashlib.sha256).hexdigest()  # 7


class TikTok:
    """A signing client for the emulator at ``{server}/tiktok``."""

    def __init__(
        self,
        server: SandboxServer,
        *,
        app_key: str = APP_KEY,
        secret: str = APP_SECRET,
        token: str = TOKEN,
        cipher: str | None = CIPHER,
    ) -> None:
        self.server = server
        self.app_key, self.secret, self.token, self.cipher = app_key, secret, token, cipher
        self.http = httpx.Client(base_url=server.tiktok_base, timeout=10)

    @property
    def ctx(self) -> Any:
        return self.server.ctx

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        *,
        sign_params: dict[str, Any] | None = None,
        sign_body: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        sign: bool = True,
        token: str | None = None,
        cipher: str | None = "",
    ) -> httpx.Response:
        """Sign and send; ``sign_params``/``sign_body`` sign something other than what is sent."""
        query = {
            "app_key": self.app_key,
            "timestamp": str(timestamp if timestamp is not None else int(time.time())),
        }
        use_cipher = self.cipher if cipher == "" else cipher
        if use_cipher is not None:
            query["shop_cipher"] = use_cipher
        query.update({k: str(v) for k, v in (params or {}).items()})
        raw = "" if body is None else json.dumps(body)
        if sign:
            signed = dict(query)
            if sign_params is not None:
                signed.update({k: str(v) for k, v in sign_params.items()})
            query["sign"] = reference_sign(secret or self.secret, path, signed, raw if sign_body is None else sign_body)
        headers = {"content-type": "application/json"}
        tok = self.token if token is None else token
        if tok:
            headers["x-tts-access-token"] = tok
        return self.http.request(method, path, params=query, content=raw.encode(), headers=headers)

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> dict[str, Any]:
        resp = self.request(method, path, params, body)
        env = resp.json()
        assert set(env) == {"code", "message", "request_id", "data"}, env
        return env

    def ok(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        env = self.call(method, path, params, body)
        assert env["code"] == 0, env
        return env["data"]

    def records(self, entity: str, connection: str = "us") -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.server.base_url}/_sandbox/records/{connection}/tiktok_shop/{entity}")
        return [json.loads(line) for line in resp.text.splitlines() if line]

    def collect(
        self,
        method: str,
        path: str,
        key: str,
        id_field: str,
        page_size: int,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> list[dict[str, Any]]:
        """Every page of a list endpoint; asserts no repeats and an empty token on the last page."""
        out: list[dict[str, Any]] = []
        token = ""
        for _ in range(10_000):
            p = {"page_size": page_size, **(params or {})}
            if token:
                p["page_token"] = token
            data = self.ok(method, path, p, body if method == "POST" else None)
            page = data[key]
            assert len(page) <= page_size
            out.extend(page)
            token = data["next_page_token"]
            if not token:
                break
            assert page, "a non-final page must not be empty"
        ids = [r[id_field] for r in out]
        assert len(ids) == len(set(ids)), f"repeated records across pages of {path}"
        return out


@contextlib.contextmanager
def running(state: MerchantState | None = None, **client_kw: Any) -> Iterator[TikTok]:
    srv = SandboxServer(state or load_state(MINI)).start()
    srv.ctx.config.tiktok.qps_per_path = 100_000  # the QPS test lowers it explicitly
    client = TikTok(srv, **client_kw)
    try:
        yield client
    finally:
        client.close()
        srv.stop()


def reset(client: TikTok, scenario: Path = MINI) -> TikTok:
    """Give a running server fresh TikTok records and zeroed counters (cheaper than a restart)."""
    fresh = load_state(scenario)
    with client.ctx.state.lock:
        for conn, new in zip(client.ctx.state.connections, fresh.connections, strict=True):
            conn.tiktok_shop = new.tiktok_shop
    client.ctx.counters.reset()
    return client


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def dec(value: Any) -> Decimal:
    assert isinstance(value, str), f"money must be a decimal string, got {value!r}"
    return Decimal(value)
