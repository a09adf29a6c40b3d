"""`python -m sandbox` (also reached as `shoptok sandbox`): serve, generate and export merchants."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from sandbox.generator import GeneratorParams, generate, generate_to_dir
from sandbox.state import (
    SHOPIFY_ENTITIES,
    TIKTOK_ENTITIES,
    MerchantState,
    export_state,
    load_state,
    parse_ts,
    write_jsonl,
)

app = typer.Typer(
    name="sandbox",
    help="Local emulators of the Shopify Admin GraphQL API and the TikTok Shop Open API, with a seeded merchant.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)

SeedOpt = Annotated[int, typer.Option("--seed", help="Generator seed: the same seed gives the same merchant.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Merchant clock, ISO-8601 UTC (default 2026-11-20T12:00:00Z).")
]
ScenarioOpt = Annotated[
    Path | None, typer.Option("--scenario", help="Load this scenario directory instead of generating.", exists=True)
]
SizeOpts = {
    "orders": typer.Option("--orders", help="TikTok orders per connection."),
    "web_orders": typer.Option("--web-orders", help="Shopify web (non-TikTok) orders per connection."),
    "products": typer.Option("--products", help="Products per connection."),
    "days": typer.Option("--days", help="Days of history."),
    "drift_scale": typer.Option("--drift-scale", help="Multiply every drift rate (0 = a clean merchant)."),
}


def _params(
    seed: int, as_of: str | None, orders: int, web_orders: int, products: int, days: int, drift_scale: float
) -> GeneratorParams:
    p = GeneratorParams(
        seed=seed,
        tiktok_orders_per_connection=orders,
        shopify_web_orders_per_connection=web_orders,
        products_per_connection=products,
        days=days,
    )
    if as_of:
        p.as_of = parse_ts(as_of)
    if drift_scale != 1.0:
        p.drift.scale(drift_scale)
        if drift_scale == 0:
            p.drift.min_per_type = 0
    return p


def _counts_table(state: MerchantState, title: str) -> Table:
    counts = state.counts()
    table = Table(title=title)
    table.add_column("entity")
    for conn in counts:
        table.add_column(conn, justify="right")
    keys = list(next(iter(counts.values())).keys()) if counts else []
    for key in keys:
        table.add_row(key, *(f"{counts[c][key]:,}" for c in counts))
    return table


def _truth_table(truth: list[dict]) -> Table:
    table = Table(title="injected drift (truth.jsonl)")
    table.add_column("mart")
    table.add_column("drift type")
    table.add_column("rows", justify="right")
    for (mart, drift), n in sorted(Counter((r["mart"], r["drift_type"]) for r in truth).items()):
        table.add_row(mart, drift, str(n))
    return table


@app.command("generate")
def generate_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="Write the scenario directory here.")] = None,
    seed: SeedOpt = 42,
    as_of: AsOfOpt = None,
    orders: Annotated[
        int,
        typer.Option("--tiktok-orders-per-connection", "--orders", help="TikTok orders per connection."),
    ] = 1500,
    web_orders: Annotated[
        int,
        typer.Option(
            "--web-orders-per-connection", "--web-orders", help="Shopify web (non-TikTok) orders per connection."
        ),
    ] = 800,
    products: Annotated[int, SizeOpts["products"]] = 120,
    days: Annotated[int, SizeOpts["days"]] = 90,
    drift_scale: Annotated[float, SizeOpts["drift_scale"]] = 1.0,
    jobs: Annotated[
        int, typer.Option("--jobs", help="Build connections in this many processes (each holds its own model).")
    ] = 1,
) -> None:
    """Generate a merchant (deterministic from --seed and --as-of) and summarise it.

    With --out the merchant streams straight into the scenario directory, one connection's model
    at a time, so a 1M-order merchant fits in a few GB; without it, the merchant is built in
    memory and only summarised.
    """
    params = _params(seed, as_of, orders, web_orders, products, days, drift_scale)
    if not out:
        state, truth = generate(params)
        console.print(_counts_table(state, f"generated merchant (seed {seed}, as of {state.as_of.isoformat()})"))
        console.print(_truth_table(truth))
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[tuple[str, str], int] = {}

        def progress(conn: str, stage: str, done: int, total: int) -> None:
            key = (conn, stage)
            if key not in tasks:
                tasks[key] = bar.add_task(f"{conn} {stage}", total=total)
            bar.update(tasks[key], completed=done, total=total)

        summary = generate_to_dir(params, out, progress=progress, jobs=jobs)
    table = Table(title=f"generated merchant (seed {seed}) -> {out}")
    table.add_column("entity")
    conns = list(summary["counts"])
    for conn in conns:
        table.add_column(conn, justify="right")
    for key in summary["counts"][conns[0]]:
        table.add_row(key, *(f"{summary['counts'][c][key]:,}" for c in conns))
    console.print(table)
    truth = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines() if line.strip()]
    console.print(_truth_table(truth))
    console.print(f"[green]wrote[/green] {out}")


@app.command("export")
def export_cmd(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory to write (manifest.json, <connection>/<platform>/*.jsonl).")
    ],
    seed: SeedOpt = 42,
    as_of: AsOfOpt = None,
    scenario: ScenarioOpt = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Export the current state of a running sandbox (after writes).")
    ] = None,
    orders: Annotated[int, SizeOpts["orders"]] = 1500,
    web_orders: Annotated[int, SizeOpts["web_orders"]] = 800,
    products: Annotated[int, SizeOpts["products"]] = 120,
    days: Annotated[int, SizeOpts["days"]] = 90,
    drift_scale: Annotated[float, SizeOpts["drift_scale"]] = 1.0,
) -> None:
    """Write a merchant as a scenario directory: generated, re-exported from --scenario, or read from --url."""
    truth = None
    if url:
        _export_from_url(url.rstrip("/"), out_dir)
        console.print(f"[green]exported[/green] {url} -> {out_dir}")
        return
    if scenario:
        state = load_state(scenario)
        truth_path = scenario / "truth.jsonl"
        if truth_path.exists():
            truth = [json.loads(line) for line in truth_path.read_text().splitlines() if line.strip()]
    else:
        state, truth = generate(_params(seed, as_of, orders, web_orders, products, days, drift_scale))
    export_state(state, out_dir, truth)
    console.print(f"[green]wrote[/green] {out_dir}")


def _export_from_url(base: str, out_dir: Path) -> None:
    with httpx.Client(timeout=120) as client:
        manifest = client.get(f"{base}/_sandbox/manifest").raise_for_status().json()
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for conn in manifest["connections"]:
            for platform, entities in (("shopify", SHOPIFY_ENTITIES), ("tiktok_shop", TIKTOK_ENTITIES)):
                target = out_dir / conn["id"] / platform
                target.mkdir(parents=True, exist_ok=True)
                for entity in entities:
                    body = client.get(f"{base}/_sandbox/records/{conn['id']}/{platform}/{entity}").raise_for_status()
                    rows = [json.loads(line) for line in body.text.splitlines() if line.strip()]
                    write_jsonl(target / f"{entity}.jsonl", rows)


@app.command("mutate")
def mutate_cmd(
    url: Annotated[str, typer.Option("--url", help="Base URL of a running sandbox (its ready file's base_url).")],
    fraction: Annotated[float, typer.Option("--fraction", help="Share of each connection's TikTok orders.")] = 0.01,
    seed: Annotated[int, typer.Option("--seed", help="Which orders change and how.")] = 0,
    advance_seconds: Annotated[
        float, typer.Option("--advance-seconds", help="Move the merchant clock on first (the changes happen later).")
    ] = 3600,
) -> None:
    """Change a share of a running sandbox's orders (POST /_sandbox/mutate) and print the counts."""
    body = {"fraction": fraction, "seed": seed, "advance_seconds": advance_seconds}
    resp = httpx.post(f"{url.rstrip('/')}/_sandbox/mutate", json=body, timeout=3600)
    if resp.status_code != 200:
        console.print(f"[red]mutate failed[/red] ({resp.status_code}): {resp.text}")
        raise typer.Exit(1)
    result = resp.json()
    table = Table(title=f"mutated (stamped {result['stamped_at']})")
    for col in ("connection", "TikTok orders", "changed", "Shopify mirrors changed", "by change"):
        table.add_column(col)
    for conn, c in result["connections"].items():
        by = ", ".join(f"{k} {v:,}" for k, v in c["by_change"].items())
        table.add_row(
            conn, f"{c['tiktok_orders']:,}", f"{c['tiktok_orders_changed']:,}", f"{c['shopify_orders_changed']:,}", by
        )
    console.print(table)
    print(json.dumps(result), flush=True)


@app.command("serve")
def serve_cmd(
    seed: SeedOpt = 42,
    as_of: AsOfOpt = None,
    scenario: ScenarioOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Bind address; loopback unless you mean otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one.")] = 8787,
    ready_file: Annotated[
        Path | None, typer.Option("--ready-file", help="Write base URLs and the manifest here once listening.")
    ] = None,
    orders: Annotated[int, SizeOpts["orders"]] = 1500,
    web_orders: Annotated[int, SizeOpts["web_orders"]] = 800,
    products: Annotated[int, SizeOpts["products"]] = 120,
    days: Annotated[int, SizeOpts["days"]] = 90,
    drift_scale: Annotated[float, SizeOpts["drift_scale"]] = 1.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the ready line.")] = False,
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help="Where a --scenario's big entities live: memory, disk (indexes in memory, records read "
            "from the files) or auto (disk for files of 256 MB or more).",
        ),
    ] = "auto",
    unthrottled: Annotated[
        bool,
        typer.Option("--unthrottled", help="No Shopify cost bucket and no TikTok QPS limit (scale benchmarks)."),
    ] = False,
) -> None:
    """Serve both emulators on one port until interrupted, printing each connection's base URLs and credentials."""
    import time

    from sandbox.context import SandboxConfig
    from sandbox.server import SandboxServer

    started = time.perf_counter()
    if scenario:
        state = load_state(scenario, store=store)
    else:
        state, _ = generate(_params(seed, as_of, orders, web_orders, products, days, drift_scale))
    config = SandboxConfig()
    if unthrottled:
        config.unthrottle()
    server = SandboxServer(state, config=config, host=host, port=port)
    info = {
        "base_url": server.base_url,
        "tiktok_base_url": server.tiktok_base,
        "connections": [
            {**c.manifest, "shopify_base_url": server.shopify_base(c.shop_domain)} for c in state.connections
        ],
        "as_of": state.manifest()["as_of"],
        "pid": os.getpid(),
        "load_s": round(time.perf_counter() - started, 1),
    }
    if not quiet:
        console.print(_counts_table(state, "serving merchant"))
        table = Table(title=f"sandbox on {server.base_url}  (admin: {server.base_url}/_sandbox/health)")
        for col in ("connection", "Shopify base URL / token", "TikTok base URL / app key / cipher"):
            table.add_column(col, overflow="fold")
        for c in info["connections"]:
            table.add_row(
                c["id"],
                f"{c['shopify_base_url']}\n{c['shopify']['access_token']}",
                f"{server.tiktok_base}\n{c['tiktok_shop']['app_key']}\n{c['tiktok_shop']['shop_cipher']}",
            )
        console.print(table)
        console.print("app secrets and TikTok access tokens: GET /_sandbox/manifest")
    if ready_file:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(ready_file)
    print(json.dumps({"ready": server.base_url}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server._server.__setattr__("should_exit", True))
    server.serve_forever()


def main() -> None:
    app(prog_name=os.environ.get("SANDBOX_PROG_NAME", "python -m sandbox"))


if __name__ == "__main__":
    sys.exit(main())
