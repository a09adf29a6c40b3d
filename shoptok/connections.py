"""Connections: which Shopify store pairs with which TikTok shop, and the credentials to reach them.

A connections file (JSON, no secrets, safe to commit) lists the pairs, regions and the
warehouse↔location map; credentials come from environment variables only:

    SHOPTOK_<ID>_SHOPIFY_ACCESS_TOKEN
    SHOPTOK_<ID>_TIKTOK_APP_KEY, SHOPTOK_<ID>_TIKTOK_APP_SECRET,
    SHOPTOK_<ID>_TIKTOK_ACCESS_TOKEN, SHOPTOK_<ID>_TIKTOK_SHOP_CIPHER
    SHOPTOK_<ID>_SHOPIFY_BASE_URL, SHOPTOK_<ID>_TIKTOK_BASE_URL   (optional: e.g. the sandbox)

``<ID>`` is the connection id upper-cased. Secret fields are excluded from ``repr`` and are
registered with the log redactor as soon as they are loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract.common.redact import register_secret

TIKTOK_PRODUCTION = "https://open-api.tiktokglobalshop.com"
SHOPIFY_API_VERSION = "2025-01"


class ConnectionConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ShopifyConnection:
    shop_domain: str
    access_token: str = field(repr=False)
    currency: str = "USD"
    base_url: str = ""
    api_version: str = SHOPIFY_API_VERSION

    @property
    def graphql_url(self) -> str:
        base = self.base_url or f"https://{self.shop_domain}"
        return f"{base.rstrip('/')}/admin/api/{self.api_version}/graphql.json"


@dataclass(frozen=True)
class TikTokConnection:
    shop_id: str
    app_key: str
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    shop_cipher: str = field(repr=False)
    region: str = "US"
    currency: str = "USD"
    base_url: str = TIKTOK_PRODUCTION
    warehouses: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Connection:
    id: str
    shopify: ShopifyConnection
    tiktok: TikTokConnection
    warehouse_location_map: Mapping[str, str] = field(default_factory=dict)
    locations: tuple[dict[str, Any], ...] = ()

    def secrets(self) -> list[str]:
        return [self.shopify.access_token, self.tiktok.app_secret, self.tiktok.access_token, self.tiktok.shop_cipher]


_CONNECTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _env_key(conn_id: str, name: str) -> str:
    return f"SHOPTOK_{conn_id.upper().replace('-', '_')}_{name}"


def connection_from_entry(
    entry: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    *,
    shopify_base_url: str | None = None,
    tiktok_base_url: str | None = None,
) -> Connection:
    """Build a Connection from a manifest/connections-file entry; env vars fill in or override credentials."""
    env = environ or {}
    cid = entry.get("id")
    if not cid:
        raise ConnectionConfigError("a connection needs an 'id'")
    if not isinstance(cid, str) or not _CONNECTION_ID.fullmatch(cid):
        # the id names files (dlt pipelines), env vars and warehouse rows: a plain token only
        raise ConnectionConfigError(
            f"connection id {str(cid)[:80]!r} is not allowed: use 1-64 letters, digits, '_' or '-'"
        )
    s = dict(entry.get("shopify") or {})
    t = dict(entry.get("tiktok_shop") or {})

    def pick(section: dict[str, Any], key: str, env_name: str, required: bool = True) -> str:
        value = env.get(_env_key(cid, env_name)) or section.get(key) or ""
        if required and not value:
            raise ConnectionConfigError(
                f"connection {cid!r}: {key} is not set (set {_env_key(cid, env_name)} or the connections file)"
            )
        return str(value)

    if not s.get("shop_domain"):
        raise ConnectionConfigError(f"connection {cid!r}: shopify.shop_domain is required")
    conn = Connection(
        id=cid,
        shopify=ShopifyConnection(
            shop_domain=s["shop_domain"],
            access_token=pick(s, "access_token", "SHOPIFY_ACCESS_TOKEN"),
            currency=s.get("currency", "USD"),
            base_url=shopify_base_url or pick(s, "base_url", "SHOPIFY_BASE_URL", required=False),
        ),
        tiktok=TikTokConnection(
            shop_id=str(t.get("shop_id", "")),
            app_key=pick(t, "app_key", "TIKTOK_APP_KEY"),
            app_secret=pick(t, "app_secret", "TIKTOK_APP_SECRET"),
            access_token=pick(t, "access_token", "TIKTOK_ACCESS_TOKEN"),
            shop_cipher=pick(t, "shop_cipher", "TIKTOK_SHOP_CIPHER", required=False),
            region=t.get("region", "US"),
            currency=t.get("currency", "USD"),
            base_url=tiktok_base_url or pick(t, "base_url", "TIKTOK_BASE_URL", required=False) or TIKTOK_PRODUCTION,
            warehouses=tuple(t.get("warehouses") or ()),
        ),
        warehouse_location_map=dict(entry.get("warehouse_location_map") or {}),
        locations=tuple(s.get("locations") or ()),
    )
    for secret in conn.secrets():
        register_secret(secret)
    return conn


def load_connections_file(path: Path, environ: Mapping[str, str]) -> list[Connection]:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConnectionConfigError(f"connections file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConnectionConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    entries = doc.get("connections") if isinstance(doc, dict) else doc
    if not entries:
        raise ConnectionConfigError(f"{path}: no connections listed")
    return [connection_from_entry(e, environ) for e in entries]


def connections_from_sandbox(info: Mapping[str, Any]) -> list[Connection]:
    """Connections for the embedded sandbox, from the ready file it writes (its credentials are not secrets)."""
    return [
        connection_from_entry(c, shopify_base_url=c["shopify_base_url"], tiktok_base_url=info["tiktok_base_url"])
        for c in info["connections"]
    ]
