"""The ``shoptok`` command line. Each stage takes ``--warehouse`` and, where time matters, ``--as-of``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shoptok.embedded import EmbeddedSandbox

app = typer.Typer(
    name="shoptok",
    help="ELT and reconciliation for merchants selling on Shopify and TikTok Shop.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.command(
    "sandbox",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help="Local Shopify + TikTok Shop emulators: serve, generate, export (run `shoptok sandbox --help`).",
)
def sandbox_cmd(ctx: typer.Context) -> None:
    """Forward to ``python -m sandbox`` so the product never imports the emulators."""
    env = {**os.environ, "SANDBOX_PROG_NAME": "shoptok sandbox"}
    raise typer.Exit(subprocess.call([sys.executable, "-m", "sandbox", *ctx.args], env=env))


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option("--seed", help="Merchant generator seed.")] = 42,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Clock for the whole run, ISO-8601 UTC.")] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Run on a scenario directory instead of the generator.")
    ] = None,
) -> None:
    """Start the sandbox with the default merchant and show what each connection holds."""
    started = time.monotonic()
    with console.status("starting the sandbox (generating the merchant)..."):
        sandbox = EmbeddedSandbox(seed=seed, as_of=as_of, scenario=scenario).start()
    try:
        counts = httpx.get(f"{sandbox.base_url}/_sandbox/counts", timeout=30).raise_for_status().json()
        table = Table(title=f"sandbox merchant at {sandbox.base_url} (as of {sandbox.info['as_of']})")
        table.add_column("entity")
        for conn in counts:
            table.add_column(conn, justify="right")
        for key in next(iter(counts.values())):
            table.add_row(key, *(f"{counts[c][key]:,}" for c in counts))
        console.print(table)
        for c in sandbox.connections:
            console.print(
                f"[bold]{c['id']}[/bold]: Shopify {c['shopify_base_url']}  TikTok {sandbox.info['tiktok_base_url']}"
            )
    finally:
        sandbox.stop()
    console.print(f"demo finished in {time.monotonic() - started:.1f} s")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
