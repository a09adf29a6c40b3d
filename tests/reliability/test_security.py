"""Security: secrets stay secret, TikTok requests are signed, webhooks are verified, servers stay on
loopback, and SQL never carries a value it was handed.

Sentinel secrets (distinctive values for the Shopify token and the TikTok app secret and access
token) are set in the sandbox's manifest and in the environment of the real CLI; after an
extraction with injected faults (so retry and error paths log), a dbt build and the reports, no
byte of a sentinel may appear in the CLI's output, the state folder (dlt state, load packages,
traces), the reports, any text column of any warehouse table, a captured log record, an
exception's text, or a Dagster run's event log.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from extract.common.redact import MASK, redact, register_secret
from extract.shopify.webhooks import HMAC_HEADER, verify_webhook, webhook_hmac
from sandbox.generator import GeneratorParams, generate
from sandbox.server import SandboxServer
from sandbox.state import MerchantState
from shoptok.connections import Connection, connection_from_entry

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CID = "us"
SHOPIFY_TOKEN = "shpat_SENTINEL_c0ffee_shopify_token_91ab"
APP_SECRET = "SENTINEL_tiktok_app_secret_5d1e7f"
ACCESS_TOKEN = "TTP_SENTINEL_tiktok_access_token_42c3"
SENTINELS = (SHOPIFY_TOKEN, APP_SECRET, ACCESS_TOKEN)
HOSTILE = "x'); DROP TABLE marts.fct_order_reconciliation; --"
PARAMS = GeneratorParams(
    connections=(CID,),
    tiktok_orders_per_connection=80,
    shopify_web_orders_per_connection=20,
    products_per_connection=10,
)


def sentinel_merchant() -> MerchantState:
    state, _ = generate(PARAMS)
    manifest = state.connection(CID).manifest
    manifest["shopify"]["access_token"] = SHOPIFY_TOKEN
    manifest["tiktok_shop"]["app_secret"] = APP_SECRET
    manifest["tiktok_shop"]["access_token"] = ACCESS_TOKEN
    return state


def connection_of(srv: SandboxServer, **overrides: str) -> Connection:
    entry = json.loads(json.dumps(srv.ctx.state.connection(CID).manifest))
    for key, value in overrides.items():
        platform, name = key.split("__")
        entry[platform][name] = value
    return connection_from_entry(
        entry, shopify_base_url=srv.shopify_base(entry["shopify"]["shop_domain"]), tiktok_base_url=srv.tiktok_base
    )


def faulty(srv: SandboxServer) -> None:
    """Some 429s and 5xx on both emulators, so retries and their log lines happen."""
    knobs = {"p_429": 0.04, "p_500": 0.04, "p_503": 0.02, "retry_after_s": 0.05, "seed": 7}
    httpx.post(
        f"{srv.base_url}/_sandbox/faults", json={"shopify": knobs, "tiktok": knobs}, timeout=10
    ).raise_for_status()
    srv.ctx.config.tiktok.qps_per_path = 100_000
    srv.ctx.config.shopify_throttle.maximum_available = 20_000
    srv.ctx.config.shopify_throttle.restore_rate = 1_000_000


def leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8", "backslashreplace") if isinstance(text, str) else text
    return [s for s in SENTINELS if s.encode() in data]


def scan_files(root: Path) -> dict[str, list[str]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            hit = leaks(path.read_bytes())
            if hit:
                found[str(path.relative_to(root))] = hit
    return found


def scan_warehouse(db: Path) -> dict[str, list[str]]:
    """Every text-like column of every table and view, searched for every sentinel (parameterized)."""
    found: dict[str, list[str]] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        cols = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like 'STRUCT%' or data_type like '%[]'"
        ).fetchall()
        assert len(cols) > 100, "the scan must cover the warehouse"
        for schema, table, column in cols:
            sql = f'select count(*) from "{schema}"."{table}" where cast("{column}" as varchar) like ?'  # noqa: S608
            for s in SENTINELS:
                if con.execute(sql, [f"%{s}%"]).fetchone()[0]:
                    found.setdefault(f"{schema}.{table}.{column}", []).append(s)
    return found


# --------------------------------------------------------------------------- the CLI, end to end


@dataclass
class CliRun:
    home: Path
    warehouse: Path
    reports: Path
    outputs: dict[str, str]


def shoptok(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(BIN / "shoptok"), *args], env=env, capture_output=True, text=True, timeout=900, cwd=ROOT, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRun]:
    root = tmp_path_factory.mktemp("security_cli")
    home, warehouse, reports = root / "home", root / "warehouse.duckdb", root / "reports"
    state = sentinel_merchant()
    # a hostile SKU rides along: the SQL tests below read this warehouse
    state.connection(CID).tiktok_shop["orders"][0]["line_items"][0]["seller_sku"] = HOSTILE
    with SandboxServer(state) as srv:
        faulty(srv)
        entry = json.loads(json.dumps(state.connection(CID).manifest))
        # the connections file holds no secret: those come from the environment only
        del entry["shopify"]["access_token"]
        for key in ("app_secret", "access_token", "app_key", "shop_cipher"):
            entry["tiktok_shop"].pop(key, None)
        entry["shopify"]["base_url"] = srv.shopify_base(entry["shopify"]["shop_domain"])
        entry["tiktok_shop"]["base_url"] = srv.tiktok_base
        conns = root / "connections.json"
        conns.write_text(json.dumps({"connections": [entry]}))
        assert not leaks(conns.read_text())
        env = {
            **os.environ,
            "SHOPTOK_HOME": str(home),
            "SHOPTOK_US_SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
            "SHOPTOK_US_TIKTOK_APP_KEY": state.connection(CID).manifest["tiktok_shop"]["app_key"],
            "SHOPTOK_US_TIKTOK_APP_SECRET": APP_SECRET,
            "SHOPTOK_US_TIKTOK_ACCESS_TOKEN": ACCESS_TOKEN,
        }
        outputs = {"extract": shoptok(["extract", "--connections", str(conns), "--warehouse", str(warehouse)], env)}
        faults = srv.ctx.counters.snapshot()
    as_of = state.as_of.isoformat()
    outputs["transform"] = shoptok(["transform", "--warehouse", str(warehouse), "--as-of", as_of], env)
    for report in ("drift", "catalog", "payouts"):
        outputs[report] = shoptok(
            ["report", report, "--warehouse", str(warehouse), "--out", str(reports), "--as-of", as_of], env
        )
    assert sum(v for k, v in faults.items() if ".faults." in k) > 0, "faults must have fired"
    yield CliRun(home, warehouse, reports, outputs)


@pytest.mark.slow
def test_cli_output_never_shows_a_secret(cli_run: CliRun) -> None:
    for step, output in cli_run.outputs.items():
        assert output.strip(), step
        assert not leaks(output), (step, leaks(output))


@pytest.mark.slow
def test_state_folder_and_reports_never_hold_a_secret(cli_run: CliRun) -> None:
    files = list(cli_run.home.rglob("*"))
    assert len([f for f in files if f.is_file()]) > 10, "dlt state and load packages must have been scanned"
    assert list(cli_run.reports.rglob("*.html")), "the reports must exist to be scanned"
    assert scan_files(cli_run.home) == {}
    assert scan_files(cli_run.reports) == {}


@pytest.mark.slow
def test_warehouse_never_holds_a_secret(cli_run: CliRun) -> None:
    assert scan_warehouse(cli_run.warehouse) == {}


# --------------------------------------------------------------------------- logs and exceptions in process


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def every_log_line() -> Iterator[_Capture]:
    handler = _Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def test_redaction_masks_every_logger_and_exception_text() -> None:
    secret = "SENTINEL_registered_later_0f9e"
    register_secret(secret)
    assert redact(f"a {secret} b") == f"a {MASK} b"
    with every_log_line() as logs:
        logging.getLogger("some.library").warning("token=%s", secret)
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logging.getLogger("another").exception("boom")
    text = "\n".join(logs.lines)
    assert "token=***" in text and "RuntimeError: failed with ***" in text
    assert secret not in text


@pytest.mark.slow
def test_in_process_extraction_logs_and_prints_no_secret(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from extract.run import run_extract

    with SandboxServer(sentinel_merchant()) as srv, every_log_line() as logs:
        faulty(srv)
        run_extract([connection_of(srv)], warehouse=tmp_path / "w.duckdb", pipelines_dir=tmp_path / "dlt")
    out, err = capfd.readouterr()
    text = "\n".join(logs.lines)
    assert len(logs.lines) > 20, "debug logging must have captured the run"
    assert any("retry" in line.lower() or " 429" in line or " 500" in line for line in logs.lines)
    assert not leaks(text) and not leaks(out) and not leaks(err)


def _exception_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc)]
    parts += [repr(v) for v in vars(exc).values()]
    return "\n".join(parts)


def test_platform_errors_carry_no_secret() -> None:
    from extract.common.errors import PlatformError
    from extract.shopify import ShopifyClient
    from extract.tiktok_shop import TikTokClient

    with SandboxServer(sentinel_merchant()) as srv:
        wrong = "shpat_SENTINEL_wrong_token_3a3a"
        texts = []
        for overrides, sentinel_in_use in (
            ({"shopify__access_token": wrong}, wrong),
            ({"tiktok_shop__access_token": "TTP_SENTINEL_wrong_token_77"}, "TTP_SENTINEL_wrong_token_77"),
            ({"tiktok_shop__app_secret": "SENTINEL_wrong_app_secret_88"}, "SENTINEL_wrong_app_secret_88"),
        ):
            conn = connection_of(srv, **overrides)
            with pytest.raises(PlatformError) as info:
                if "shopify" in next(iter(overrides)):
                    ShopifyClient(conn.shopify).execute("{ shop { name } }")
                else:
                    with TikTokClient(conn.tiktok) as client:
                        client.call("GET", "/logistics/202309/warehouses")
            text = _exception_text(info.value)
            texts.append(text)
            assert sentinel_in_use not in text, text
            assert not leaks(text), text
        assert all("API error" in t for t in texts)


# --------------------------------------------------------------------------- Dagster event logs


@pytest.mark.slow
def test_dagster_event_log_holds_no_secret(tmp_path: Path) -> None:
    import dagster as dg

    from orchestration.defs.ingest.assets import INGEST_ASSETS
    from orchestration.defs.ingest.partitions import partition_key, today_key
    from orchestration.defs.reconcile.jobs import incremental_run_config
    from orchestration.defs.resources import ClockResource, ConnectionsResource, WarehouseResource

    state = sentinel_merchant()
    instance = dg.DagsterInstance.ephemeral()
    day = today_key(state.as_of)
    with SandboxServer(state) as srv:
        faulty(srv)
        result = dg.materialize(
            INGEST_ASSETS,
            resources={
                "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"), pipelines_dir=str(tmp_path / "dlt")),
                "connections": ConnectionsResource(sandbox_url=srv.base_url),
                "clock": ClockResource(as_of=state.as_of.isoformat()),
            },
            run_config=incremental_run_config(),
            partition_key=str(partition_key(CID, day)),
            instance=instance,
            raise_on_error=False,
        )
    assert result.success, [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    records = instance.all_logs(result.run_id)
    assert len(records) > 10
    text = "\n".join(dg.serialize_value(r) for r in records)
    assert "raw_tiktok_shop" in text or "tiktok" in text
    assert not leaks(text), leaks(text)
    assert scan_warehouse(tmp_path / "w.duckdb") == {}


# --------------------------------------------------------------------------- TikTok signing


def reference_sign(secret: str, path: str, params: dict[str, str], body: bytes) -> str:
    """The documented algorithm (platform-apis.md §1), written out independently of client and sandbox."""
    text = path.encode() + b"".join(
        f"{k}{params[k]}".encode() for k in sorted(params) if k not in ("sign", "access_token")
    )
    key = secret.encode()
    return hmac.new(key, key + text + body + key, hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def signed_requests() -> Iterator[tuple[SandboxServer, list[httpx.Request]]]:
    """Every request the TikTok source sends during a full extraction, recorded at the transport."""
    from extract.pipeline import run_source
    from extract.tiktok_shop import tiktok_shop_source

    sent: list[httpx.Request] = []
    original = httpx.Client.send

    def record(self: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
        if "/tiktok/" in str(request.url):
            request.read()
            sent.append(request)
        return original(self, request, **kw)

    srv = SandboxServer(sentinel_merchant()).start()
    try:
        srv.ctx.config.tiktok.qps_per_path = 100_000
        httpx.Client.send = record  # type: ignore[method-assign]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                run_source(
                    tiktok_shop_source(connection_of(srv)),
                    platform="tiktok_shop",
                    connection_id=CID,
                    warehouse=Path(tmp) / "w.duckdb",
                    pipelines_dir=Path(tmp) / "dlt",
                )
        finally:
            httpx.Client.send = original  # type: ignore[method-assign]
        yield srv, sent
    finally:
        srv.stop()


@pytest.mark.slow
def test_every_tiktok_request_is_signed_by_the_documented_algorithm(signed_requests) -> None:
    srv, sent = signed_requests
    assert len(sent) > 20
    paths = set()
    for request in sent:
        path = request.url.path.removeprefix("/tiktok")
        params = dict(request.url.params)
        assert params.get("sign") == reference_sign(APP_SECRET, path, params, request.content), request.url
        assert request.headers["x-tts-access-token"] == ACCESS_TOKEN
        assert "access_token" not in params and APP_SECRET not in str(request.url)
        paths.add(path.split("/")[1])
    assert {"order", "product", "finance", "return_refund"} <= paths


def _replay(srv: SandboxServer, request: httpx.Request, *, params: dict[str, str], body: bytes) -> dict[str, Any]:
    resp = httpx.request(
        request.method,
        f"{srv.base_url}{request.url.path}",
        params=params,
        content=body or None,
        headers={k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-tts-access-token")},
        timeout=30,
    )
    return resp.json()


@pytest.mark.slow
def test_the_sandbox_rejects_tampered_query_and_body(signed_requests) -> None:
    srv, sent = signed_requests
    post = next(r for r in sent if r.method == "POST" and r.content and "orders/search" in r.url.path)
    fresh = dict(post.url.params)
    fresh["timestamp"] = str(int(time.time()))
    path = post.url.path.removeprefix("/tiktok")
    fresh["sign"] = reference_sign(APP_SECRET, path, fresh, post.content)
    assert _replay(srv, post, params=fresh, body=post.content)["code"] == 0  # the untouched request is accepted
    tampered_query = {**fresh, "page_size": "100" if fresh.get("page_size") != "100" else "99"}
    assert _replay(srv, post, params=tampered_query, body=post.content)["code"] == 106001
    body = json.loads(post.content)
    body["update_time_ge"] = 0
    assert _replay(srv, post, params=fresh, body=json.dumps(body).encode())["code"] == 106001
    forged = {**fresh, "sign": reference_sign("not-the-secret", path, fresh, post.content)}
    assert _replay(srv, post, params=forged, body=post.content)["code"] == 106001
    unsigned = {k: v for k, v in fresh.items() if k != "sign"}
    assert _replay(srv, post, params=unsigned, body=post.content)["code"] != 0


# --------------------------------------------------------------------------- Shopify webhooks


def test_webhook_verification_accepts_shopify_signature_and_nothing_else() -> None:
    secret = "whsec_test_secret"
    body = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"42.50"}'
    header = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert webhook_hmac(body, secret) == header and HMAC_HEADER == "X-Shopify-Hmac-Sha256"
    assert verify_webhook(body, header, secret)
    assert verify_webhook(body, f"  {header}\n", secret)
    assert not verify_webhook(body.replace(b"42.50", b"0.01"), header, secret)  # tampered body
    assert not verify_webhook(body + b" ", header, secret)  # re-serialized bodies differ
    assert not verify_webhook(body, header, "another-secret")
    flipped = base64.b64encode(bytes([base64.b64decode(header)[0] ^ 1]) + base64.b64decode(header)[1:]).decode()
    assert not verify_webhook(body, flipped, secret)
    for bad in ("", None, "not base64!", "é", header[:-4], base64.b64encode(b"short").decode()):
        assert not verify_webhook(body, bad, secret), bad
    assert not verify_webhook(body, header, "")


def test_webhook_verification_compares_in_constant_time() -> None:
    source = (ROOT / "extract" / "shopify" / "webhooks.py").read_text()
    tree = ast.parse(source)
    calls = {
        f"{n.func.value.id}.{n.func.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
    }
    assert "hmac.compare_digest" in calls
    compares = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Compare) and any(isinstance(o, ast.Eq | ast.NotEq) for o in n.ops)
    ]
    assert compares == [], "digests must never be compared with == or !="


# --------------------------------------------------------------------------- loopback by default


def test_servers_bind_loopback_by_default() -> None:
    import inspect

    from sandbox import cli as sandbox_cli

    srv = SandboxServer(
        generate(
            GeneratorParams(
                connections=("us",),
                tiktok_orders_per_connection=5,
                shopify_web_orders_per_connection=2,
                products_per_connection=2,
            )
        )[0]
    )
    try:
        assert srv.host == "127.0.0.1" and srv._sock.getsockname()[0] == "127.0.0.1"
    finally:
        srv._sock.close()
    serve = next(f for name, f in inspect.getmembers(sandbox_cli, inspect.isfunction) if name in ("serve", "serve_cmd"))
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    help_text = subprocess.run(
        [str(BIN / "shoptok"), "sandbox", "serve", "--help"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    assert "127.0.0.1" in help_text or "loopback" in help_text
    makefile = (ROOT / "Makefile").read_text()
    ui = makefile[makefile.index("\nui:") :].split("\n\n", 1)[0]
    assert "dagster dev" in ui and "-h 127.0.0.1" in ui and "0.0.0.0" not in makefile


# --------------------------------------------------------------------------- SQL from user input

PRODUCT = ("shoptok", "orchestration", "expectations", "extract")
#: names an f-string SQL statement may interpolate: identifiers and clauses the code itself chose
#: (schemas, tables, columns, lists of ``?`` marks, ``_conn_filter``'s " and <column> = ?", one of
#: two fixed bucket columns, constant status lists), each reviewed -- never a user's or an API's value.
#: A new name fails the test on purpose: review it, then add it here or bind the value as a parameter.
SAFE_NAMES = {
    "dataset", "t", "table", "mart", "schema", "cols", "marks", "cf", "pcf", "tcf", "weekly_where", "own",
    "raw", "column", "columns", "qualified", "bucket", "tx_from", "money_sums", "open_list", "this", "where",
    "sql",  # expectations' _pruned_sql: a statement of its own frame list, wrapped as a subquery
    # extract.pipeline._SplitKeyMerge: dlt's quoted table names and its key equalities (dlt's SQL, split in two)
    "root_table_name", "staging_root_table_name", "key_cond",
}  # fmt: skip
SQL_HEADS = (
    "select ", "insert ", "update ", "delete ", "create ", "drop ", "attach ", "copy ", "alter ", "with ",
    "from ", "where ", "and ", "describe ",
)  # fmt: skip


def _sql_fstrings() -> list[tuple[str, int, ast.expr]]:
    """(file, line, interpolated expression) for every f-string that reads like SQL in the product."""
    out = []
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.JoinedStr):
                    continue
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if not text.lstrip().lower().startswith(SQL_HEADS):
                    continue
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        out.append((str(path.relative_to(ROOT)), node.lineno, value.value))
    return out


def test_sql_fstrings_interpolate_only_identifiers_the_code_chose() -> None:
    found = _sql_fstrings()
    assert found, "the scan must find the product's SQL"
    suspicious = []
    for file, line, expr in found:
        bound = {
            n.id
            for c in ast.walk(expr)
            if isinstance(c, ast.comprehension)
            for n in ast.walk(c.target)
            if isinstance(n, ast.Name)
        }
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id.startswith("_quote"):
            continue  # a value escaped by the quoting helpers (checked below)
        names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)} - bound
        if all(n in SAFE_NAMES or n.isupper() or n.startswith("_quote") for n in names):
            continue
        suspicious.append(f"{file}:{line}: {{{ast.unparse(expr)}}}")
    assert suspicious == [], "review these interpolations (parameterize values):\n" + "\n".join(suspicious)


def test_the_quoting_helpers_escape_quotes() -> None:
    from shoptok.reports.analyst_copy import _quote_ident, _quote_literal

    assert _quote_literal("/tmp/a'b.duckdb") == "'/tmp/a''b.duckdb'"
    assert _quote_ident('we"ird') == '"we""ird"'
    with duckdb.connect() as con:
        assert con.execute(f"select {_quote_literal(HOSTILE)}").fetchone()[0] == HOSTILE  # noqa: S608


@pytest.fixture(scope="module")
def built_tiny(cli_run: CliRun) -> tuple[Path, str]:
    """The CLI run's warehouse (extracted and built, a hostile SKU in its data) and its clock."""
    return cli_run.warehouse, PARAMS.as_of.isoformat()


def _tables(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            f"{s}.{t}"
            for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        }


@pytest.mark.slow
def test_hostile_values_flow_through_cli_reports_and_writeback_as_data(built_tiny, tmp_path: Path) -> None:
    from orchestration.defs.writeback.engine import apply_actions
    from tests.writeback.support import action, ledger, write_plan

    db, as_of = built_tiny
    before = _tables(db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from raw_tiktok_shop.order_line_items where seller_sku = ?", [HOSTILE]
            ).fetchone()[0]
            == 1
        )
    env = {**os.environ, "SHOPTOK_HOME": str(tmp_path / "home")}
    for report in ("drift", "payouts", "catalog"):
        shoptok(
            [
                "report",
                report,
                "--warehouse",
                str(db),
                "--connection",
                HOSTILE,
                "--out",
                str(tmp_path / "r"),
                "--as-of",
                as_of,
            ],
            env,
        )
    shoptok(["report", "drift", "--warehouse", str(db), "--out", str(tmp_path / "r2"), "--as-of", as_of], env)
    assert _tables(db) == before and "marts.fct_order_reconciliation" in before
    # a plan row whose ids and payload carry SQL: recorded byte for byte, nothing executed
    plan = action(
        "set_tiktok_price",
        HOSTILE,
        {"product_id": "1", "skus": [{"id": HOSTILE, "price": {"amount": "1.00", "currency": "USD"}}]},
    )
    copy = tmp_path / "plan.duckdb"
    copy.write_bytes(db.read_bytes())
    write_plan(copy, [plan])
    with SandboxServer(sentinel_merchant()) as srv:
        report = apply_actions(copy, [connection_of(srv)], as_of=datetime.fromisoformat(as_of))
    rows = ledger(copy)
    assert rows[plan["action_id"]]["payload"] == plan["payload"] and HOSTILE in rows[plan["action_id"]]["payload"]
    assert report.totals()["planned"] == 1
    assert _tables(copy) >= before


def test_a_hostile_connection_id_is_refused_before_it_reaches_a_path_or_a_query(tmp_path: Path) -> None:
    from shoptok.connections import ConnectionConfigError

    entry = {
        "id": HOSTILE,
        "shopify": {"shop_domain": "x.myshopify.com", "access_token": "shpat_x_123456"},
        "tiktok_shop": {"app_key": "k", "app_secret": "s_123456", "access_token": "t_123456"},
    }
    for bad in (HOSTILE, "../../etc", "us/../../x", "a b", ""):
        with pytest.raises(ConnectionConfigError):
            connection_from_entry({**entry, "id": bad})
    conns = tmp_path / "c.json"
    conns.write_text(json.dumps({"connections": [entry]}))
    proc = subprocess.run(
        [str(BIN / "shoptok"), "extract", "--connections", str(conns), "--warehouse", str(tmp_path / "w.duckdb")],
        env={**os.environ, "SHOPTOK_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "connection id" in (proc.stdout + proc.stderr)
    assert not (tmp_path / "w.duckdb").exists()
    assert (
        not any(p.name.startswith("shoptok_") for p in (tmp_path / "home").rglob("*"))
        if (tmp_path / "home").exists()
        else True
    )
