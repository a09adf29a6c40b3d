"""Benchmark: streaming merchant generation and the sandbox serving it, at growing sizes.

    .venv/bin/python bench/bench_generator.py --per-channel 10000 100000 1000000 [--serve]

``--per-channel N`` is the size of the issue's tiers: N TikTok orders in total (N/2 per
connection, two connections) and about N Shopify orders (their mirrors plus N/50 web orders per
connection).  Each tier is generated with ``python -m sandbox generate --out`` in a child
process (wall time and peak RSS of that process).  With ``--serve`` the directory is then served
by ``python -m sandbox serve --scenario DIR --unthrottled`` (load time, RSS after load and peak)
and read the way an unthrottled extraction reads it: TikTok order search pages (page size 100)
and a Shopify bulk operation over every order of one shop (the extractor's first bulk query),
then ``POST /_sandbox/mutate`` changes 1% of the orders.

Writes one JSON line per tier to bench/results/generator.jsonl so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.tiktok_shop.signing import signature  # noqa: E402


def _peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (the machine is shared: wall time is not the cost)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def generate(per_channel: int, out: Path, jobs: int) -> dict[str, Any]:
    per_conn = per_channel // 2
    cmd = [sys.executable, "-m", "sandbox", "generate", "--out", str(out)]
    cmd += ["--tiktok-orders-per-connection", str(per_conn), "--web-orders-per-connection", str(per_conn // 25)]
    cmd += ["--products", str(max(120, per_conn // 100)), "--jobs", str(jobs)]
    before = _peak_child_rss_mb()
    cpu0 = _children_cpu_s()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu = _children_cpu_s() - cpu0
    peak = _peak_child_rss_mb()
    return {
        "command": " ".join(["python", *cmd[1:]]),
        **counted(out),
        "generate_s": round(wall, 1),
        "generate_cpu_s": round(cpu, 1),
        # RUSAGE_CHILDREN keeps the largest child: only meaningful when this child is the largest so far
        "generate_peak_rss_mb": round(peak) if peak > before else None,
    }


def counted(out: Path) -> dict[str, Any]:
    counts = {"tiktok": 0, "shopify": 0}
    for conn in json.loads((out / "manifest.json").read_text())["connections"]:
        for platform_, key in (("tiktok_shop", "tiktok"), ("shopify", "shopify")):
            with (out / conn["id"] / platform_ / "orders.jsonl").open("rb") as fh:
                counts[key] += sum(1 for _ in fh)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"tiktok_orders": counts["tiktok"], "shopify_orders": counts["shopify"], "scenario_mb": round(size / 1e6)}


class TikTok:
    def __init__(self, base: str, conn: dict[str, Any]) -> None:
        self.base, self.tt = base, conn["tiktok_shop"]
        self.http = httpx.Client(timeout=600)

    def post(self, path: str, params: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        query = {
            "app_key": self.tt["app_key"],
            "timestamp": str(int(time.time())),
            "shop_cipher": self.tt["shop_cipher"],
        }
        query.update({k: str(v) for k, v in params.items()})
        raw = json.dumps(body).encode()
        query["sign"] = signature(self.tt["app_secret"], path, query, raw, "application/json")
        headers = {"content-type": "application/json", "x-tts-access-token": self.tt["access_token"]}
        env = self.http.post(self.base + path, params=query, content=raw, headers=headers).json()
        if env["code"] != 0:
            raise RuntimeError(env)
        return env["data"]


def _tiktok_rate(base: str, conn: dict[str, Any], max_pages: int) -> dict[str, Any]:
    client = TikTok(base, conn)
    t0 = time.perf_counter()
    first = client.post("/order/202309/orders/search", {"page_size": 100, "sort_field": "update_time"}, {})
    first_s = time.perf_counter() - t0  # includes building the sorted view once
    token, pages, orders = first["next_page_token"], 1, len(first["orders"])
    t1 = time.perf_counter()
    while token and pages < max_pages:
        page = client.post(
            "/order/202309/orders/search", {"page_size": 100, "sort_field": "update_time", "page_token": token}, {}
        )
        token, pages, orders = page["next_page_token"], pages + 1, orders + len(page["orders"])
    elapsed = time.perf_counter() - t1
    return {
        "tiktok_first_page_s": round(first_s, 2),
        "tiktok_pages": pages - 1,
        "tiktok_pages_per_s": round((pages - 1) / elapsed, 1) if elapsed else None,
        "tiktok_orders_per_s": round((orders - len(first["orders"])) / elapsed) if elapsed else None,
    }


def _shopify_bulk_rate(base: str, conn: dict[str, Any]) -> dict[str, Any]:
    from extract.shopify import queries

    url = f"{base}/shopify/{conn['shopify']['shop_domain']}/admin/api/2025-01/graphql.json"
    headers = {"X-Shopify-Access-Token": conn["shopify"]["access_token"]}
    http = httpx.Client(timeout=600)
    query = queries.bulk_query(queries.bulk_parts(queries.ORDERS)[0], None)
    run = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }"
    t0 = time.perf_counter()
    started = http.post(url, json={"query": run, "variables": {"q": query}}, headers=headers).json()
    if started["data"]["bulkOperationRunQuery"]["userErrors"]:
        raise RuntimeError(started)
    poll = "{ currentBulkOperation { status url objectCount rootObjectCount fileSize } }"
    while True:
        op = http.post(url, json={"query": poll}, headers=headers).json()["data"]["currentBulkOperation"]
        if op["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.5)
    ready = time.perf_counter() - t0
    size = 0
    t1 = time.perf_counter()
    with http.stream("GET", op["url"]) as resp:
        for chunk in resp.iter_bytes():
            size += len(chunk)
    download = time.perf_counter() - t1
    return {
        "shopify_bulk_status": op["status"],
        "shopify_bulk_orders": int(op["rootObjectCount"]),
        "shopify_bulk_lines": int(op["objectCount"]),
        "shopify_bulk_mb": round(size / 1e6, 1),
        "shopify_bulk_ready_s": round(ready, 1),
        "shopify_bulk_orders_per_s": round(int(op["rootObjectCount"]) / ready),
        "shopify_bulk_mb_per_s": round(size / 1e6 / ready, 1),
        "shopify_bulk_download_mb_per_s": round(size / 1e6 / download, 1) if download else None,
    }


def serve(scenario: Path, max_pages: int) -> dict[str, Any]:
    ready = scenario.with_suffix(".ready")
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "sandbox", "serve", "--scenario", str(scenario), "--unthrottled", "--port", "0"]
    cmd += ["--quiet", "--ready-file", str(ready)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {proc.returncode}")
            time.sleep(0.5)
        load_s = time.perf_counter() - t0
        info = json.loads(ready.read_text())
        base = info["base_url"]
        row: dict[str, Any] = {
            "serve_command": " ".join(["python", *cmd[1:8]]),
            "load_s": round(load_s, 1),
            "load_cpu_s": round(_cpu_s(proc.pid), 1),
            "rss_after_load_mb": round(_proc_mb(proc.pid, "VmRSS")),
        }
        conn = info["connections"][0]
        cpu = _cpu_s(proc.pid)
        row.update(_tiktok_rate(info["tiktok_base_url"], conn, max_pages))
        row["tiktok_server_cpu_ms_per_page"] = round(
            1000 * (_cpu_s(proc.pid) - cpu) / max(1, row["tiktok_pages"] + 1), 1
        )
        cpu = _cpu_s(proc.pid)
        row.update(_shopify_bulk_rate(base, conn))
        row["shopify_bulk_server_cpu_s"] = round(_cpu_s(proc.pid) - cpu, 1)
        row["shopify_bulk_server_cpu_ms_per_order"] = round(
            1000 * row["shopify_bulk_server_cpu_s"] / max(1, row["shopify_bulk_orders"]), 2
        )
        t1 = time.perf_counter()
        cpu = _cpu_s(proc.pid)
        mutated = httpx.post(f"{base}/_sandbox/mutate", json={"fraction": 0.01, "seed": 1}, timeout=1200).json()
        row["mutate_1pct_s"] = round(time.perf_counter() - t1, 1)
        row["mutate_1pct_cpu_s"] = round(_cpu_s(proc.pid) - cpu, 1)
        row["mutated_tiktok_orders"] = sum(c["tiktok_orders_changed"] for c in mutated["connections"].values())
        row["mutated_shopify_orders"] = sum(c["shopify_orders_changed"] for c in mutated["connections"].values())
        row["serve_peak_rss_mb"] = round(_proc_mb(proc.pid, "VmHWM"))
        return row
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # graceful shutdown waits for open requests
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-channel", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--serve", action="store_true", help="also load, read and mutate each tier in a sandbox")
    ap.add_argument("--jobs", type=int, default=1, help="generator processes (one connection each)")
    ap.add_argument("--max-pages", type=int, default=2000, help="TikTok search pages read per tier")
    ap.add_argument("--keep", type=Path, help="keep the scenario directories under this directory")
    ap.add_argument(
        "--reuse", action="store_true", help="with --keep: serve an existing per-channel-N directory, do not regenerate"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "generator.jsonl")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in sorted(args.per_channel):
        root = args.keep or Path(tempfile.mkdtemp(prefix="bench-gen-"))
        scenario = root / f"per-channel-{n}"
        reuse = args.reuse and args.keep and (scenario / "manifest.json").exists()
        if not reuse:
            shutil.rmtree(scenario, ignore_errors=True)
        try:
            row: dict[str, Any] = {"bench": "generator", "per_channel": n}
            row.update(counted(scenario) if reuse else generate(n, scenario, args.jobs))
            if args.serve:
                row.update(serve(scenario, args.max_pages))
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        row["machine"] = f"{platform.machine()} {os.cpu_count()} cpu python {platform.python_version()}"
        row["load_avg"] = round(os.getloadavg()[0], 1)
        row["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(json.dumps(row), flush=True)
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
