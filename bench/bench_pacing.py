"""API pacing: how close the production clients run to each platform's quota, with zero failed calls.

    .venv/bin/python bench/bench_pacing.py                 # a small merchant, a few minutes
    .venv/bin/python bench/bench_pacing.py --skip-shopify-paged --tiktok-calls 300

The sandbox runs in its own process with its real default throttles: Shopify's standard-plan
GraphQL cost bucket (2,000 points, restoring 100 points/s, THROTTLED when empty) and TikTok's
50 requests per second per API path and shop (sliding one-second window, 429 beyond it).
Measurements, one JSON line each in ``bench/results/pacing.jsonl``:

* ``shopify_paged``: a full paged-GraphQL load of one shop (``shopify_source(use_bulk=False)``)
  through the cost-paced client. Ratio = points spent out of the bucket's refill during the run
  ÷ what the refill allowed (``CostStats.refill_utilisation``; the initial full bucket is not
  counted as throughput). Target ≥ 0.9 and 0 failed calls; THROTTLED answers (retried) are counted.
* ``shopify_bulk``: the same shop through bulk operations (the first-load path): time and points.
* ``tiktok_saturation``: product-detail calls from 8 threads through one client at the default
  pacing (``extract.tiktok_shop.settings.QPS_TARGET``); ratio = answered calls/s on that path ÷
  50. Target ≥ 0.9 and 0 failed calls; 429s (retried by the client) are counted.
* ``tiktok_source``: a full TikTok load of one connection at the default pacing: time, calls,
  429s, and the busiest path's calls/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import PYTHON, RESULTS, ROOT, load_average, machine, now_iso, write_result  # noqa: E402

console = Console()
SHOPIFY_RESTORE_RATE = 100.0
TIKTOK_QPS = 50.0
TARGET_RATIO = 0.9


class _Recorder(httpx.BaseTransport):
    """Wraps the client's transport to note when each call on each API path was sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        # /tiktok/<category>/202309/<resource>[/<id>[/<sub>]]: ids are templated out
        key = "/".join(p if not any(c.isdigit() for c in p) or p == "202309" else "{id}" for p in parts)
        with self._lock:
            self.sent.setdefault(key, []).append(time.monotonic())
        return self.inner.handle_request(request)

    def busiest(self) -> tuple[str, int, float]:
        """(path, calls, calls per second over that path's own span)."""
        path, stamps = max(self.sent.items(), key=lambda kv: len(kv[1]))
        span = stamps[-1] - stamps[0]
        return path, len(stamps), (len(stamps) - 1) / span if span > 0 else 0.0


class Sandbox:
    def __init__(self, work: Path, sizes: list[str]) -> None:
        self.ready = work / "sandbox.ready.json"
        self.log = (work / "sandbox.log").open("wb")
        cmd = [PYTHON, "-m", "sandbox", "serve", "--port", "0", "--quiet", "--ready-file", str(self.ready), *sizes]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() - started > 600:
                raise RuntimeError(f"sandbox did not start; see {work / 'sandbox.log'}")
            time.sleep(0.2)
        self.info = json.loads(self.ready.read_text())
        self.url = self.info["base_url"]
        deadline = time.monotonic() + 120
        while True:  # the ready file can land before the socket accepts
            try:
                httpx.get(f"{self.url}/_sandbox/health", timeout=10).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def counters(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sandbox/counters", timeout=30).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/counters", timeout=30)

    def config(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_sandbox/config", timeout=30).json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _connection(sandbox: Sandbox, cid: str) -> Any:
    from shoptok.connections import connection_from_entry

    manifest = httpx.get(f"{sandbox.url}/_sandbox/manifest", timeout=30).raise_for_status().json()
    entry = next(c for c in manifest["connections"] if c["id"] == cid)
    return connection_from_entry(
        entry,
        shopify_base_url=f"{sandbox.url}/shopify/{entry['shopify']['shop_domain']}",
        tiktok_base_url=f"{sandbox.url}/tiktok",
    )


def shopify_load(sandbox: Sandbox, conn: Any, work: Path, use_bulk: bool) -> dict[str, Any]:
    from extract.pipeline import run_source
    from extract.shopify.client import ShopifyClient
    from extract.shopify.source import shopify_source

    sandbox.reset()
    client = ShopifyClient(conn.shopify)
    wh = work / f"shopify_{'bulk' if use_bulk else 'paged'}.duckdb"
    started = time.perf_counter()
    summary = run_source(
        shopify_source(conn, use_bulk=use_bulk, client=client),
        platform="shopify",
        connection_id=conn.id,
        warehouse=wh,
        pipelines_dir=work / f"dlt_{use_bulk}",
    )
    wall = time.perf_counter() - started
    counters = sandbox.counters()
    cost = client.cost
    row: dict[str, Any] = {
        "measure": "shopify_bulk" if use_bulk else "shopify_paged",
        "wall_s": round(wall, 2),
        "rows": sum(summary.rows.values()),
        "orders": summary.rows.get("orders", 0),
        "queries": cost.queries,
        "points_actual": cost.actual,
        "points_requested": cost.requested,
        "paced_s": round(cost.paced_s, 1),
        "calls": client.stats.calls,
        "retries": client.stats.retries,
        "failed_calls": client.stats.failed,
        "client_throttled": client.stats.throttled,
        "sandbox_throttled": counters.get("shopify.throttled", 0),
        "sandbox_errors": counters.get("shopify.errors", 0),
    }
    if not use_bulk:
        ratio = cost.refill_utilisation(SHOPIFY_RESTORE_RATE)
        row.update(
            ceiling="bucket refill 100 points/s (standard plan; the initial 2,000-point bucket not counted)",
            points_per_s=round(cost.throughput(), 1),
            ratio=round(ratio, 3),
            ok=ratio >= TARGET_RATIO and row["failed_calls"] == 0,
        )
    else:
        row["ok"] = row["failed_calls"] == 0
    return row


def tiktok_saturation(
    sandbox: Sandbox, conn: Any, calls: int, threads: int = 8, qps: float | None = None
) -> dict[str, Any]:
    from extract.tiktok_shop import settings
    from extract.tiktok_shop.client import TikTokClient

    recorder = _Recorder()
    qps = qps or settings.QPS_TARGET
    client = TikTokClient(conn.tiktok, transport=recorder, qps=qps)
    ids: list[str] = []
    for page in client.paginate("POST", "/product/202309/products/search", {"page_size": 100}, {}, "products"):
        ids.extend(str(p["id"]) for p in page)
    sandbox.reset()
    recorder.sent.clear()
    targets = [ids[i % len(ids)] for i in range(calls)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda pid: client.call("GET", f"/product/202309/products/{pid}"), targets))
    wall = time.perf_counter() - started
    path, n, _ = recorder.busiest()
    stamps = recorder.sent[path]
    counters = sandbox.counters()
    throttled = counters.get("tiktok.throttled", 0)
    # answered calls only: a call refused with 429 and sent again is not throughput
    rate = (n - throttled - 1) / (stamps[-1] - stamps[0]) if stamps[-1] > stamps[0] else 0.0
    ratio = rate / TIKTOK_QPS
    return {
        "measure": "tiktok_saturation",
        "ceiling": "50 requests/s per API path and shop (sliding one-second window)",
        "client_qps_target": qps,
        "threads": threads,
        "path": path,
        "calls": n,
        "wall_s": round(wall, 2),
        "calls_per_s": round(rate, 2),
        "ratio": round(ratio, 3),
        "retries": client.stats.retries,
        "failed_calls": client.stats.failed,
        "client_throttled": client.stats.throttled,
        "sandbox_throttled": counters.get("tiktok.throttled", 0),
        # 429s are retried by the client (counted above); the target is on failed calls
        "ok": ratio >= TARGET_RATIO and client.stats.failed == 0,
    }


def tiktok_source(sandbox: Sandbox, conn: Any, work: Path) -> dict[str, Any]:
    from extract.pipeline import run_source
    from extract.tiktok_shop.client import TikTokClient
    from extract.tiktok_shop.source import tiktok_shop_source

    sandbox.reset()
    recorder = _Recorder()
    client = TikTokClient(conn.tiktok, transport=recorder)
    started = time.perf_counter()
    summary = run_source(
        tiktok_shop_source(conn, client=client),
        platform="tiktok_shop",
        connection_id=conn.id,
        warehouse=work / "tiktok.duckdb",
        pipelines_dir=work / "dlt_tiktok",
    )
    wall = time.perf_counter() - started
    path, n, rate = recorder.busiest()
    counters = sandbox.counters()
    per_path = Counter({p: len(s) for p, s in recorder.sent.items()})
    return {
        "measure": "tiktok_source",
        "wall_s": round(wall, 2),
        "rows": sum(summary.rows.values()),
        "calls": client.stats.calls,
        "busiest_path": path,
        "busiest_path_calls": n,
        "busiest_path_calls_per_s": round(rate, 2),
        "calls_by_path": dict(per_path.most_common(6)),
        "retries": client.stats.retries,
        "failed_calls": client.stats.failed,
        "client_throttled": client.stats.throttled,
        "sandbox_throttled": counters.get("tiktok.throttled", 0),
        "ok": client.stats.failed == 0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/bench_pacing.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--orders", type=int, default=150, help="TikTok orders per connection of the merchant")
    ap.add_argument("--web-orders", type=int, default=50, help="Shopify web orders per connection")
    ap.add_argument("--products", type=int, default=60, help="products per connection")
    ap.add_argument("--connection", default="us", help="connection measured")
    ap.add_argument("--tiktok-calls", type=int, default=600, help="calls in the TikTok saturation run")
    ap.add_argument(
        "--tiktok-qps", type=float, nargs="+", default=[None], help="client pacing(s) to try (default: QPS_TARGET)"
    )
    ap.add_argument("--skip-tiktok-source", action="store_true", help="skip the full TikTok load")
    ap.add_argument("--skip-shopify-bulk", action="store_true", help="skip the bulk load")
    ap.add_argument("--skip-shopify-paged", action="store_true", help="skip the paged load (the longest part)")
    ap.add_argument("--out", type=Path, default=RESULTS / "pacing.jsonl", help="JSON-lines results (appended)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-pacing-"))
    sizes = ["--orders", str(args.orders), "--web-orders", str(args.web_orders)]
    sizes += ["--products", str(args.products)]
    mach = machine()
    with console.status(f"starting the sandbox with default throttles ({' '.join(sizes)})"):
        sandbox = Sandbox(work, sizes)
    throttles = sandbox.config()
    rows: list[dict[str, Any]] = []
    try:
        conn = _connection(sandbox, args.connection)
        steps = [
            (
                f"TikTok saturation at {q or 'QPS_TARGET'}",
                lambda q=q: tiktok_saturation(sandbox, conn, args.tiktok_calls, qps=q),
            )
            for q in args.tiktok_qps
        ]
        if not args.skip_tiktok_source:
            steps.append(("TikTok full load", lambda: tiktok_source(sandbox, conn, work)))
        if not args.skip_shopify_bulk:
            steps.append(("Shopify bulk load", lambda: shopify_load(sandbox, conn, work, use_bulk=True)))
        if not args.skip_shopify_paged:
            steps.append(("Shopify paged load", lambda: shopify_load(sandbox, conn, work, use_bulk=False)))
        for label, step in steps:
            load_before = load_average()
            with console.status(f"{label}..."):
                row = step()
            row = {
                "bench": "pacing",
                "at": now_iso(),
                **row,
                "merchant": {"connection": args.connection, "sizes": " ".join(sizes)},
                "sandbox_throttles": {k: throttles.get(k) for k in ("shopify_throttle", "tiktok")},
                "command": "bench/bench_pacing.py " + " ".join(argv or []),
                "load_before": load_before,
                "load_after": load_average(),
                "machine": mach,
            }
            rows.append(row)
            write_result(args.out, row)
            console.print(f"{label}: {row.get('wall_s')} s, ratio {row.get('ratio', '-')}, ok {row['ok']}")
    finally:
        sandbox.stop()
    table = Table(title="API pacing")
    for col in ("measure", "wall s", "calls", "points", "rate", "ratio", "throttled", "failed", "ok"):
        table.add_column(col)
    for r in rows:
        rate = r.get("points_per_s") or r.get("calls_per_s") or r.get("busiest_path_calls_per_s") or ""
        table.add_row(
            r["measure"],
            str(r["wall_s"]),
            str(r.get("calls", "")),
            str(r.get("points_actual", "")),
            str(rate),
            str(r.get("ratio", "")),
            str(r.get("sandbox_throttled", "")),
            str(r.get("failed_calls", "")),
            "yes" if r["ok"] else "[red]no[/red]",
        )
    console.print(table)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
