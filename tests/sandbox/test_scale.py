"""The 1M-order tier's sandbox parts, proven at small sizes: streaming generation, the disk
record store (same answers as the in-memory lists), and the admin mutation for incremental runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.context import SandboxConfig
from sandbox.generator import GeneratorParams, generate, generate_to_dir
from sandbox.recordstore import DiskRecords, tiktok_order_slim
from sandbox.server import SandboxServer
from sandbox.state import ScenarioError, export_state, load_state, parse_ts
from tests.sandbox.tiktok_fixtures import reference_sign

REPO = Path(__file__).resolve().parents[2]


def _params(**kw: Any) -> GeneratorParams:
    return GeneratorParams(
        tiktok_orders_per_connection=kw.pop("orders", 400),
        shopify_web_orders_per_connection=kw.pop("web", 150),
        products_per_connection=kw.pop("products", 40),
        **kw,
    )


def _serve(state: Any) -> SandboxServer:
    config = SandboxConfig()
    config.unthrottle()
    return SandboxServer(state, config=config)


def _shopify_emulator(srv: SandboxServer) -> Any:
    """The Shopify emulator behind a running sandbox (to switch the bulk fast path off)."""
    app = srv.app.app  # FaultMiddleware -> Starlette
    for route in app.routes:
        if getattr(route, "path", "").startswith("/shopify"):
            return route.app.state.emulator
    raise AssertionError("no Shopify mount")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scale") / "merchant"
    generate_to_dir(_params(orders=600, web=200), out)
    return out


# --------------------------------------------------------------------------- streaming generation


@pytest.mark.parametrize("jobs", [1, 2])
def test_streamed_directory_is_byte_identical_to_the_in_memory_export(tmp_path: Path, jobs: int) -> None:
    params = _params(seed=11)
    state, truth = generate(params)
    export_state(state, tmp_path / "memory", truth)
    seen: list[tuple[str, str]] = []
    summary = generate_to_dir(params, tmp_path / "streamed", progress=lambda c, s, d, t: seen.append((c, s)), jobs=jobs)
    memory, streamed = _files(tmp_path / "memory"), _files(tmp_path / "streamed")
    assert sorted(memory) == sorted(streamed)
    assert "truth.jsonl" in streamed and len(streamed) == 2 + 2 * 12
    differing = [name for name in memory if memory[name] != streamed[name]]
    assert differing == []
    assert summary["truth_rows"] == len(truth)
    assert summary["counts"]["us"]["tiktok_shop.orders"] == 400
    assert ("us", "model") in seen and ("uk", "shopify.orders") in seen


def test_generate_cli_streams_with_the_size_option(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "sandbox", "generate", "--out", str(out), "--tiktok-orders-per-connection", "120"]
    cmd += ["--web-orders-per-connection", "30", "--products", "20", "--seed", "5"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, timeout=300)
    state, truth = generate(_params(orders=120, web=30, products=20, seed=5))
    export_state(state, tmp_path / "memory", truth)
    assert _files(out) == _files(tmp_path / "memory")


# --------------------------------------------------------------------------- the disk record store


def test_disk_records_keep_edits_through_eviction_and_refresh_slim_rows(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    rows = [
        {"id": str(i), "status": "AWAITING_SHIPMENT", "create_time": i, "update_time": i, "line_items": []}
        for i in range(10)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = DiskRecords(path, slim=tiktok_order_slim, cache_size=2)
    assert len(store) == 10 and store.id_map()["7"]["update_time"] == 7
    first = store[3]
    assert store[3] is first, "a cached record is the same dict, so in-place writes stick"
    first["status"] = "CANCELLED"
    first["update_time"] = 99
    for i in range(5, 10):  # push record 3 out of the two-record cache
        store[i]
    again = store[3]
    assert again is not first and again["status"] == "CANCELLED" and again["update_time"] == 99
    assert store.slim_rows()[3]["status"] == "CANCELLED"
    assert path.read_text() == "".join(json.dumps(r) + "\n" for r in rows), "the scenario file is never written"
    pinned = store.id_map()["1"]  # the write path: looked up by id, edited later
    for i in range(4, 10):  # page reads churn the small cache...
        store[i]
    pinned["status"] = "ON_HOLD"  # ...but an id lookup is pinned, so this edit still lands
    for i in range(10):
        store.get(i, pin=True)  # now churn the pinned cache too: the edit is written back
    assert store[1]["status"] == "ON_HOLD" and store.slim_rows()[1]["status"] == "ON_HOLD"
    store.append({"id": "new", "status": "ON_HOLD", "create_time": 1, "update_time": 1, "line_items": []})
    assert store.id_map()["new"]["status"] == "ON_HOLD" and len(store) == 11
    assert [r["id"] for r in store][-2:] == ["9", "new"]


def test_disk_store_rejects_a_malformed_line_naming_file_line_and_field(tmp_path: Path) -> None:
    scenario = tmp_path / "s"
    state, _ = generate(_params(orders=30, web=10, products=10))
    export_state(state, scenario)
    path = scenario / "us" / "tiktok_shop" / "orders.jsonl"
    lines = path.read_text().splitlines()
    lines[4] = json.dumps({k: v for k, v in json.loads(lines[4]).items() if k != "id"})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"orders\.jsonl:5: field 'id' is required"):
        load_state(scenario, store="disk")
    lines[4] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"orders\.jsonl:5: invalid JSON"):
        load_state(scenario, store="disk")


class Client:
    """Signed TikTok calls and Shopify GraphQL for one connection of a running sandbox."""

    def __init__(self, srv: SandboxServer, conn_id: str = "us") -> None:
        conn = srv.ctx.state.connection(conn_id)
        self.srv, self.tt, self.shop = srv, conn.tiktok, conn.manifest["shopify"]
        self.http = httpx.Client(timeout=120)

    def tiktok(self, path: str, params: dict[str, Any] | None = None, body: Any = None, method: str = "GET") -> Any:
        import time

        query = {
            "app_key": self.tt["app_key"],
            "timestamp": str(int(time.time())),
            "shop_cipher": self.tt["shop_cipher"],
        }
        query.update({k: str(v) for k, v in (params or {}).items()})
        raw = "" if body is None else json.dumps(body)
        query["sign"] = reference_sign(self.tt["app_secret"], path, query, raw)
        headers = {"content-type": "application/json", "x-tts-access-token": self.tt["access_token"]}
        resp = self.http.request(method, self.srv.tiktok_base + path, params=query, content=raw, headers=headers)
        env = resp.json()
        assert env["code"] == 0, env
        return env["data"]

    def graphql(self, query: str) -> Any:
        url = self.srv.shopify_base(self.shop["shop_domain"]) + "/admin/api/2025-01/graphql.json"
        resp = self.http.post(url, json={"query": query}, headers={"X-Shopify-Access-Token": self.shop["access_token"]})
        body = resp.json()
        assert "errors" not in body, body
        return body["data"]

    def tiktok_orders(self, body: dict[str, Any], sort_field: str = "update_time", order: str = "DESC") -> list[dict]:
        out, token = [], ""
        while True:
            params = {"page_size": 37, "sort_field": sort_field, "sort_order": order}
            if token:
                params["page_token"] = token
            page = self.tiktok("/order/202309/orders/search", params, body, "POST")
            out.extend(page["orders"])
            token = page["next_page_token"]
            if not token:
                return out

    def shopify_orders(self, search: str | None, sort: str = "UPDATED_AT") -> list[dict]:
        out, after = [], None
        q = f", query: {json.dumps(search)}" if search else ""
        while True:
            cursor = f', after: "{after}"' if after else ""
            data = self.graphql(
                f"{{ orders(first: 50, sortKey: {sort}{q}{cursor}) {{ pageInfo {{ hasNextPage endCursor }} "
                "nodes { id name updatedAt displayFulfillmentStatus totalPriceSet { shopMoney { amount } } "
                "lineItems(first: 10) { nodes { id sku quantity } } fulfillments { id trackingInfo { number } } "
                "refunds { id note } } } }"
            )["orders"]
            out.extend(data["nodes"])
            if not data["pageInfo"]["hasNextPage"]:
                return out
            after = data["pageInfo"]["endCursor"]

    def bulk_orders(self, query: str | None = None) -> bytes:
        import time

        query = query or (
            "{ orders { edges { node { id name updatedAt lineItems { edges { node { id sku quantity } } } "
            "refunds { id note refundLineItems { edges { node { quantity lineItem { id sku } } } } } } } } }"
        )
        run = f"bulkOperationRunQuery(query: {json.dumps(query)})"
        started = self.graphql(f"mutation {{ {run} {{ bulkOperation {{ id }} userErrors {{ message }} }} }}")
        assert started["bulkOperationRunQuery"]["userErrors"] == []
        for _ in range(600):
            op = self.graphql("{ currentBulkOperation { status url objectCount } }")["currentBulkOperation"]
            if op["status"] == "COMPLETED":
                return self.http.get(op["url"]).content
            time.sleep(0.05)
        raise AssertionError("bulk operation never completed")

    def records(self, platform: str, entity: str) -> bytes:
        return self.http.get(f"{self.srv.base_url}/_sandbox/records/us/{platform}/{entity}").content

    def mutate(self, **body: Any) -> httpx.Response:
        return self.http.post(f"{self.srv.base_url}/_sandbox/mutate", json=body)


def _answers(c: Client) -> dict[str, Any]:
    """What an extraction sees: pages of orders (filtered, sorted both ways), details, money, stock, bulk."""
    some = c.tiktok_orders({"order_status": "AWAITING_SHIPMENT"}, "create_time", "ASC")
    statements = c.tiktok("/finance/202309/statements", {"sort_field": "statement_time", "page_size": 5})["statements"]
    sid = statements[0]["id"]
    txns = c.tiktok(
        f"/finance/202309/statements/{sid}/statement_transactions", {"sort_field": "order_create_time", "page_size": 50}
    )
    skus = [
        s["id"]
        for p in c.tiktok("/product/202309/products/search", {"page_size": 20}, {}, "POST")["products"]
        for s in p["skus"]
    ]
    stock = c.tiktok("/product/202309/inventory/search", {}, {"sku_ids": skus[:20]}, "POST")
    returns = c.tiktok(
        "/return_refund/202309/returns/search", {"page_size": 50, "sort_field": "update_time"}, {}, "POST"
    )
    cancels = c.tiktok(
        "/return_refund/202309/cancellations/search",
        {"page_size": 50, "sort_order": "ASC"},
        {"cancel_status": ["CANCELLATION_REQUEST_COMPLETE"]},
        "POST",
    )
    return {
        "returns": returns,
        "cancellations": cancels,
        "tiktok_all": c.tiktok_orders({}),
        "tiktok_awaiting": some,
        "tiktok_window": c.tiktok_orders({"update_time_ge": 1790000000, "warehouse_ids": [some[0]["warehouse_id"]]}),
        "tiktok_detail": c.tiktok("/order/202309/orders", {"ids": ",".join(o["id"] for o in some[:5])}),
        "transactions": txns,
        "stock": stock,
        "shopify_paged": c.shopify_orders("fulfillment_status:unshipped tag:TikTok", "CREATED_AT"),
        "shopify_updated": c.shopify_orders("updated_at:>='2026-11-01T00:00:00Z'"),
        "bulk": c.bulk_orders(),
        "records": [c.records("shopify", "orders"), c.records("tiktok_shop", "orders")],
    }


def test_disk_store_serves_exactly_what_the_in_memory_lists_serve(scenario: Path) -> None:
    before, after = {}, {}
    for store in ("memory", "disk"):
        os.environ["SANDBOX_STORE_CACHE"] = "40"  # a small cache: evictions and write-backs happen
        try:
            state = load_state(scenario, store=store)
        finally:
            del os.environ["SANDBOX_STORE_CACHE"]
        us = state.connection("us")
        kinds = {type(us.shopify["orders"]).__name__} | {
            type(us.tiktok_shop[e]).__name__ for e in ("orders", "statement_transactions", "returns", "cancellations")
        }
        assert kinds == ({"DiskRecords"} if store == "disk" else {"list"})
        with _serve(state) as srv:
            c = Client(srv)
            before[store] = _answers(c)
            assert c.mutate(fraction=0.05, seed=3).status_code == 200
            after[store] = _answers(c)
    assert len(before["memory"]["tiktok_all"]) == 600
    for key in before["memory"]:
        assert before["disk"][key] == before["memory"][key], key
        assert after["disk"][key] == after["memory"][key], key
    assert after["memory"]["tiktok_all"] != before["memory"]["tiktok_all"], "the mutation changed nothing?"


def test_compiled_flattening_writes_what_the_plain_walk_writes() -> None:
    """Bulk runs use the compiled ``flatten_into``; ``flatten`` is the plain definition it must match."""
    from graphql import OperationDefinitionNode, execute_sync, parse

    from extract.shopify import queries
    from sandbox.context import SandboxContext
    from sandbox.shopify.app import ShopifyEmulator
    from sandbox.shopify.bulk import flatten, flatten_into
    from sandbox.shopify.resolvers import RequestContext

    state, _ = generate(_params(orders=200, web=60))
    sandbox_ctx = SandboxContext(state=state)
    emulator = ShopifyEmulator(sandbox_ctx)
    conn = state.connection("us")
    extra = "{ products { edges { node { id title variants { edges { node { id sku } } } } } } }"
    docs = [queries.bulk_query(part, None) for part in queries.bulk_parts(queries.ORDERS)] + [extra]
    for text in docs:
        document = parse(text)
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        rctx = RequestContext(
            sandbox=sandbox_ctx,
            conn=conn,
            store=emulator.store(conn),
            bulk_manager=emulator.bulk,
            base_url="x",
            bulk=True,
        )
        data = execute_sync(emulator.schema, document, context_value=rctx).data
        plain, roots = flatten(emulator.schema, operation, {}, data)
        compiled: list[str] = []
        assert flatten_into(emulator.schema, operation, {}, data, compiled.append) == roots > 0
        assert compiled == plain and len(plain) > roots


def test_bulk_direct_executor_matches_graphql_core_on_the_extractors_queries(scenario: Path) -> None:
    """The bulk fast path is trusted only where it renders what graphql-core renders: check both ways."""
    from extract.shopify import queries

    bodies = {}
    for direct in (True, False):
        with _serve(load_state(scenario)) as srv:
            srv.app.ctx  # noqa: B018 - the context is built
            emulator = _shopify_emulator(srv)
            emulator.bulk.direct_enabled = direct
            c = Client(srv)
            bodies[direct] = [
                c.bulk_orders(queries.bulk_query(part, None)) for part in queries.bulk_parts(queries.ORDERS)
            ]
            counters = c.http.get(f"{srv.base_url}/_sandbox/counters").json()
            used = "shopify.bulk_windows.direct" if direct else "shopify.bulk_windows.graphql"
            assert (
                counters.get(used, 0) >= 2 and len([k for k in counters if k.startswith("shopify.bulk_windows")]) == 1
            )
    assert bodies[True] == bodies[False]
    assert bodies[True][0].count(b"\n") > 1000


def test_auto_store_switches_on_file_size(scenario: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox.state

    assert isinstance(load_state(scenario, store="auto").connection("us").shopify["orders"], list)
    monkeypatch.setattr(sandbox.state, "DISK_STORE_MIN_BYTES", 1)
    conn = load_state(scenario, store="auto").connection("us")
    assert isinstance(conn.shopify["orders"], DiskRecords)
    for entity in ("orders", "statement_transactions", "returns", "cancellations"):
        assert isinstance(conn.tiktok_shop[entity], DiskRecords), entity
    assert isinstance(conn.tiktok_shop["products"], list) and isinstance(conn.shopify["products"], list)


# --------------------------------------------------------------------------- the admin mutation


@pytest.mark.parametrize("store", ["memory", "disk"])
def test_mutate_changes_the_fraction_and_incremental_reads_see_exactly_those(scenario: Path, store: str) -> None:
    state = load_state(scenario, store=store)
    old_tiktok = {o["id"]: o for o in (json.loads(line) for line in (scenario / "us/tiktok_shop/orders.jsonl").open())}
    with _serve(state) as srv:
        c = Client(srv)
        assert c.mutate(fraction=0).status_code == 400
        assert c.mutate(fraction="lots").status_code == 400
        resp = c.mutate(fraction=0.05, seed=9)
        assert resp.status_code == 200
        result = resp.json()
        stamp = result["stamped_at"]
        ts = int(parse_ts(stamp).timestamp())
        assert parse_ts(stamp) > state.as_of
        us = result["connections"]["us"]
        assert us["tiktok_orders"] == 600 and us["tiktok_orders_changed"] == 30
        assert sum(us["by_change"].values()) == 30
        assert {"return_requested", "completed"} <= set(us["by_change"]) or len(us["by_change"]) >= 3
        # an incremental TikTok read from the stamp gets exactly the changed orders, each moved on
        changed = c.tiktok_orders({"update_time_ge": ts})
        assert len(changed) == 30
        for order in changed:
            old = old_tiktok[order["id"]]
            assert order["update_time"] == ts > old["update_time"]
            assert order["status"] != old["status"] or order["status"] == "COMPLETED"
        new_returns = [
            r
            for r in (json.loads(x) for x in c.records("tiktok_shop", "returns").splitlines())
            if r["create_time"] == ts
        ]
        assert len(new_returns) == us["by_change"].get("return_requested", 0)
        assert {r["order_id"] for r in new_returns} <= {o["id"] for o in changed}
        # Shopify: the mirrors that changed (tracking added, cancellations) and only those
        shopify_changed = c.shopify_orders(f"updated_at:>='{stamp}'")
        assert len(shopify_changed) == us["shopify_orders_changed"]
        tracking = {o["tracking_number"] for o in changed if o["status"] == "AWAITING_COLLECTION"}
        pushed = {t["number"] for o in shopify_changed for f in o["fulfillments"] for t in f["trackingInfo"]}
        assert tracking & pushed or not tracking
        for order in shopify_changed:
            assert order["updatedAt"] == stamp
        cancelled = [o for o in changed if o["status"] == "CANCELLED"]
        if cancelled:
            notes = {r["note"] for o in shopify_changed for r in o["refunds"]}
            assert any(n.startswith("TikTok Shop cancellation ") for n in notes)
        counters = c.http.get(f"{srv.base_url}/_sandbox/counters").json()
        assert counters["sandbox.mutated_orders"] == 60


def test_mutate_cli_posts_to_a_running_sandbox(scenario: Path) -> None:
    with _serve(load_state(scenario)) as srv:
        cmd = [sys.executable, "-m", "sandbox", "mutate", "--url", srv.base_url, "--fraction", "0.02", "--seed", "2"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO, timeout=300).stdout
        result = json.loads(out.strip().splitlines()[-1])
        assert result["connections"]["us"]["tiktok_orders_changed"] == 12
        stamp = int(parse_ts(result["stamped_at"]).timestamp())
        assert len(Client(srv).tiktok_orders({"update_time_ge": stamp})) == 12
        bad = subprocess.run([*cmd[:-4], "--fraction", "2"], capture_output=True, text=True, cwd=REPO, timeout=300)
        assert bad.returncode == 1 and "fraction must be in (0, 1]" in bad.stderr


def test_mutate_is_deterministic_per_seed(scenario: Path) -> None:
    results = []
    for _ in range(2):
        with _serve(load_state(scenario)) as srv:
            c = Client(srv)
            results.append((c.mutate(fraction=0.02, seed=4).json(), c.records("tiktok_shop", "orders")))
    assert results[0] == results[1]


def test_unthrottled_config(scenario: Path) -> None:
    with SandboxServer(load_state(scenario)) as srv:
        cfg = httpx.post(f"{srv.base_url}/_sandbox/config", json={"unthrottled": True}).json()
        assert cfg["tiktok"]["qps_per_path"] == 0
        assert cfg["shopify_throttle"]["maximum_available"] >= 1e9 and cfg["shopify_throttle"]["restore_rate"] >= 1e9


@pytest.mark.slow
def test_the_emulator_suite_passes_on_the_disk_store() -> None:
    """Every emulator test again, with every loaded scenario on the disk store and a two-record cache."""
    if os.environ.get("SANDBOX_STORE") == "disk":
        pytest.skip("already running on the disk store")
    env = {**os.environ, "SANDBOX_STORE": "disk", "SANDBOX_STORE_CACHE": "2"}
    tests = [
        str(p)
        for p in sorted((REPO / "tests" / "sandbox").glob("test_*.py"))
        if p.name not in ("test_scale.py", "test_generator.py")
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
