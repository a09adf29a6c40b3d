"""The fault matrix: extraction under each injected fault must give the fault-free warehouse.

Each case starts a fresh sandbox with the small merchant, switches one fault kind on through the
sandbox's own HTTP endpoints (``POST /_sandbox/faults``, ``POST /_sandbox/config`` for TikTok's
clock), extracts both platforms over real HTTP into a new DuckDB file and compares every raw table
row by row with a fault-free extraction of the same merchant. The sandbox's counters prove the
faults happened (``<server>.faults.<kind>``); a case whose fault never fired fails.

One combined case switches every kind on at once and also runs ``dbt build`` on the result: the
marts must equal the fault-free marts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from extract.run import run_extract
from shoptok.transform import run_dbt
from tests.support.crash_points import FULL
from tests.support.warehouse_hash import (
    DBT_SCHEMAS,
    RAW_SCHEMAS,
    differing,
    duplicate_keys,
    row_delta,
    table_fingerprints,
)
from tests.writeback.support import connections_for

BOTH = ("shopify", "tiktok")
#: per case: fault settings per server, TikTok clock skew (s), the counters that must be > 0.
#: Replays are TikTok-only: a Shopify extraction reads its listings as bulk operations (JSONL
#: files, checked against objectCount/fileSize); its few paged queries rarely reach a second page.
CASES: dict[str, dict[str, Any]] = {
    "429_storm": {"faults": {"p_429": 0.04, "burst": 5, "retry_after_s": 0.05}, "kinds": ["429"]},
    "5xx_burst": {
        "faults": {"p_500": 0.03, "p_503": 0.03, "burst": 3},
        # five times TikTok's odds would be an outage, not a burst: 8 failures in a row end a call
        "shopify_faults": {"p_500": 0.06, "p_503": 0.06, "burst": 3},
        "kinds": ["500", "503"],
    },
    "latency_spikes": {"faults": {"p_latency": 0.15, "latency_ms": 400}, "kinds": ["latency"]},
    "cut_mid_body": {"faults": {"p_cut": 0.06}, "kinds": ["cut"]},
    "truncated_json": {"faults": {"p_truncate": 0.06}, "kinds": ["truncate"]},
    "replayed_pages": {"faults": {"p_replay": 0.3}, "kinds": ["replay"], "servers": ("tiktok",)},
    "shuffled_pages": {"faults": {"p_shuffle": 0.6}, "kinds": ["shuffle"]},
    "records_repeated_across_pages": {"faults": {"p_dup_records": 0.4}, "kinds": ["dup_records"]},
    "tiktok_clock_ahead_15min": {"skew": 900, "kinds": ["clock_skew"], "servers": ("tiktok",)},
    "tiktok_clock_behind_10min": {"skew": -600, "kinds": ["clock_skew"], "servers": ("tiktok",)},
}
COMBINED: dict[str, Any] = {
    "faults": {
        "p_429": 0.02,
        "burst": 3,
        "retry_after_s": 0.05,
        "p_500": 0.01,
        "p_503": 0.01,
        "p_latency": 0.05,
        "latency_ms": 200,
        "p_cut": 0.02,
        "p_truncate": 0.02,
        "p_replay": 0.1,
        "p_shuffle": 0.3,
        "p_dup_records": 0.2,
    },
    "skew": 900,
}


#: a Shopify extraction makes ~20 requests (bulk operations) to TikTok's ~100: its odds are 5 times higher
SHOPIFY_SCALE = 5.0


def _for(server: str, faults: dict[str, Any]) -> dict[str, Any]:
    scale = SHOPIFY_SCALE if server == "shopify" else 1.0
    return {k: min(1.0, v * scale) if k.startswith("p_") else v for k, v in faults.items()}


def _configure(srv: Any, case: dict[str, Any], seed: int) -> None:
    servers = case.get("servers", BOTH)
    if case.get("faults"):
        body = {s: {**_for(s, case["faults"]), "seed": seed} for s in servers}
        if "shopify" in body and case.get("shopify_faults"):
            body["shopify"] = {**case["shopify_faults"], "seed": seed}
        httpx.post(f"{srv.base_url}/_sandbox/faults", json=body, timeout=30).raise_for_status()
    if case.get("skew"):
        skew = {"tiktok": {"clock_skew_s": case["skew"]}}
        httpx.post(f"{srv.base_url}/_sandbox/config", json=skew, timeout=30).raise_for_status()


def _injected(srv: Any) -> dict[str, int]:
    counters = httpx.get(f"{srv.base_url}/_sandbox/counters", timeout=30).json()
    return {k: v for k, v in counters.items() if ".faults." in k and v}


def _extract(srv: Any, root: Path) -> Path:
    warehouse = root / "w.duckdb"
    run_extract(connections_for(srv), warehouse=warehouse, pipelines_dir=root / "dlt")
    return warehouse


@pytest.fixture(scope="module", autouse=True)
def small_pages():
    """TikTok pages of at most 20 records, so the small merchant's listings run to several pages
    (a replayed or repeated page needs a page before it); the fault-free run uses the same sizes."""
    from extract.tiktok_shop import settings

    with pytest.MonkeyPatch.context() as mp:
        for table, (lo, hi) in list(settings.PAGE_SIZE_BOUNDS.items()):
            mp.setitem(settings.PAGE_SIZE_BOUNDS, table, (lo, max(lo, min(hi, 20))))
        yield


@pytest.fixture(scope="module")
def fault_free(new_sandbox, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("fault_free")
    with new_sandbox() as srv:
        warehouse = _extract(srv, root)
        assert not _injected(srv)
    return warehouse, table_fingerprints(warehouse, RAW_SCHEMAS)


def _assert_same(expected: dict[str, str], warehouse: Path, label: str, injected: dict[str, int]) -> None:
    after = table_fingerprints(warehouse, RAW_SCHEMAS)
    lost, extra = row_delta(expected, after)
    print(f"{label}: faults injected {injected}; rows lost {lost}, extra {extra}")
    assert not differing(expected, after), f"{label}: {lost} rows lost, {extra} extra: {differing(expected, after)}"
    for table in ("raw_tiktok_shop.orders", "raw_shopify.orders", "raw_tiktok_shop.products"):
        assert duplicate_keys(warehouse, table, ["connection_id", "id"]) == 0, f"{label}: duplicates in {table}"


#: fault RNG seeds per case: one in CI, three under SHOPTOK_FULL_MATRIX=1
SEEDS = (1, 2, 3) if FULL else (1,)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", list(CASES))
def test_extraction_under_faults_equals_the_fault_free_warehouse(name, seed, fault_free, new_sandbox, tmp_path):
    case = CASES[name]
    with new_sandbox() as srv:
        _configure(srv, case, seed=sum(map(ord, name)) * seed)
        warehouse = _extract(srv, tmp_path)
        injected = _injected(srv)
    for kind in case["kinds"]:
        fired = {k: v for k, v in injected.items() if k.endswith(f".faults.{kind}")}
        assert fired, f"{name}: no {kind} fault was injected ({injected})"
    for server in case.get("servers", BOTH):
        assert any(k.startswith(f"{server}.") for k in injected), f"{name}: nothing injected on {server}"
    _assert_same(fault_free[1], warehouse, f"{name}[seed{seed}]", injected)


@pytest.mark.slow
def test_every_fault_at_once_gives_the_fault_free_warehouse_and_marts(
    fault_free, new_sandbox, small_merchant, tmp_path
):
    with new_sandbox() as srv:
        _configure(srv, COMBINED, seed=7)
        warehouse = _extract(srv, tmp_path)
        injected = _injected(srv)
    kinds = {k.split(".faults.")[1] for k in injected}
    assert len(kinds) >= 8, f"too few fault kinds fired together: {injected}"
    _assert_same(fault_free[1], warehouse, "combined", injected)

    clean_marts = tmp_path / "clean.duckdb"
    clean_marts.write_bytes(fault_free[0].read_bytes())
    for target in (clean_marts, warehouse):
        built = run_dbt(["build"], warehouse=target, as_of=small_merchant.as_of)
        assert built.ok, built.output[-4000:]
    expected = table_fingerprints(clean_marts, DBT_SCHEMAS)
    after = table_fingerprints(warehouse, DBT_SCHEMAS)
    assert expected and not differing(expected, after), f"marts differ: {differing(expected, after)}"


# --------------------------------------------------------------------------- the client fixes, staged exactly


def _tiktok(handler: Any) -> Any:
    from extract.common.http import RetryPolicy
    from extract.tiktok_shop.client import TikTokClient
    from shoptok.connections import TikTokConnection

    conn = TikTokConnection(
        shop_id="7001", app_key="k", app_secret="s", access_token="t", shop_cipher="c", base_url="https://tt.example"
    )
    policy = RetryPolicy(max_attempts=4, base_s=0.0)
    return TikTokClient(conn, policy, qps=0, transport=httpx.MockTransport(handler), sleep=lambda _: None)


def _envelope(data: Any, code: int = 0, message: str = "Success", **headers: str) -> httpx.Response:
    body = {"code": code, "message": message, "request_id": "RID", "data": data}
    return httpx.Response(200, json=body, headers=headers)


def test_a_replayed_earlier_page_is_asked_for_again_not_fatal():
    """A gateway serving page 2 again when page 3 was asked for: the walk re-asks, loses and repeats nothing."""
    pages = {"": ([{"id": "1"}], "t1"), "t1": ([{"id": "2"}], "t2"), "t2": ([{"id": "3"}], "")}
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("page_token", "")
        asked.append(token)
        if token == "t2" and asked.count("t2") == 1:
            token = "t1"  # the replay: page 2's answer, next_page_token "t2" included
        items, next_token = pages[token]
        return _envelope({"orders": items, "next_page_token": next_token})

    api = _tiktok(handler)
    got = list(api.paginate("POST", "/order/202309/orders/search", {"page_size": 1}, {}, "orders"))
    assert got == [[{"id": "1"}], [{"id": "2"}], [{"id": "3"}]]
    assert asked == ["", "t1", "t2", "t2"]
    assert api.stats.by_kind.get("replayed_page") == 1


@pytest.mark.parametrize("skew", [900, -600])
def test_a_skewed_tiktok_clock_is_learned_from_date_and_even_writes_go_through(skew):
    """TikTok checks the signed timestamp against its clock: the client adopts the offset its Date shows."""
    import time
    from email.utils import formatdate

    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ts = int(request.url.params["timestamp"])
        sent.append(ts)
        server_now = time.time() + skew
        date = formatdate(server_now, usegmt=True)
        if not server_now - 300 <= ts <= server_now + 30:
            return _envelope(None, code=36009004, message="Invalid timestamp", date=date)
        return _envelope({"ok": True}, date=date)

    api = _tiktok(handler)
    assert api.call("GET", "/order/202309/orders").data == {"ok": True}
    assert abs(api.clock_offset - skew) <= 2
    # a write: the rejection certainly applied nothing, so it is retried rather than "outcome unknown"
    assert api.call("POST", "/product/202309/products/1/inventory/update", body={}, repeatable=False).data
    assert len(sent) == 3
