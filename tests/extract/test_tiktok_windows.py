"""Search windows: a long range is walked in 30-day windows from the oldest record, then an open one."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from extract.tiktok_shop import settings
from extract.tiktok_shop.client import TikTokClient
from extract.tiktok_shop.source import ORDERS, ExtractStats, _Run
from shoptok.connections import TikTokConnection

DAY = 86_400
T0 = 1_790_000_000
NOW = T0 + 100 * DAY
ORDERS_AT = {"a": T0, "b": T0 + 40 * DAY, "c": T0 + 75 * DAY, "d": NOW + 5 * DAY}  # "d" is ahead of our clock


def walk(start: datetime) -> tuple[list[dict], list[str]]:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        hits = sorted(
            (t, i)
            for i, t in ORDERS_AT.items()
            if t >= body["update_time_ge"] and ("update_time_lt" not in body or t < body["update_time_lt"])
        )
        items = [{"id": i, "update_time": t} for t, i in hits][: int(dict(request.url.params)["page_size"])]
        return httpx.Response(200, json={"code": 0, "message": "Success", "request_id": "r", "data": {"orders": items}})

    conn = TikTokConnection("1", "k", "secret-xyz", "token-xyz", "cipher-xyz", base_url="https://x")
    api = TikTokClient(conn, qps=0, clock=lambda: NOW, transport=httpx.MockTransport(handler))
    run = _Run(api, "us", ExtractStats(), None, owns_client=False)
    ids = [o["id"] for page in run.walk(ORDERS, start) for o in page]
    return bodies, ids


def test_a_first_load_probes_for_the_oldest_record_then_walks_30_day_windows() -> None:
    bodies, ids = walk(datetime(2000, 1, 1, tzinfo=UTC))
    span = int(settings.SEARCH_WINDOW.total_seconds())
    probe, *windows = bodies
    assert probe == {"update_time_ge": 946_684_800}
    assert windows == [
        {"update_time_ge": T0, "update_time_lt": T0 + span},
        {"update_time_ge": T0 + span, "update_time_lt": T0 + 2 * span},
        {"update_time_ge": T0 + 2 * span, "update_time_lt": T0 + 3 * span},
        {"update_time_ge": T0 + 3 * span},
    ]
    assert ids == ["a", "b", "c", "d"]


def test_a_recent_start_is_one_open_window_without_a_probe() -> None:
    bodies, ids = walk(datetime.fromtimestamp(NOW - 2 * 3600, UTC))
    assert bodies == [{"update_time_ge": NOW - 2 * 3600}]
    assert ids == ["d"]
