"""Benchmark: merchant generation and scenario export at growing sizes (wall time, peak RSS).

    .venv/bin/python bench/bench_generator.py --orders 1500 10000 50000

Writes one JSON line per size to bench/results/generator.jsonl so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sandbox.generator import GeneratorParams, generate
from sandbox.state import export_state


def run(orders: int) -> dict[str, object]:
    params = GeneratorParams(
        tiktok_orders_per_connection=orders,
        shopify_web_orders_per_connection=orders // 2,
        products_per_connection=max(120, orders // 100),
    )
    t0 = time.perf_counter()
    state, truth = generate(params)
    t1 = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    try:
        export_state(state, out, truth)
        t2 = time.perf_counter()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(out)
    counts = state.counts()
    return {
        "bench": "generator",
        "orders_per_connection": orders,
        "tiktok_orders": sum(c["tiktok_shop.orders"] for c in counts.values()),
        "shopify_orders": sum(c["shopify.orders"] for c in counts.values()),
        "generate_s": round(t1 - t0, 2),
        "export_s": round(t2 - t1, 2),
        "export_mb": round(size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "truth_rows": len(truth),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, nargs="+", default=[1500, 10000])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "generator.jsonl")
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in args.orders:
        row = run(n)
        print(json.dumps(row))
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
