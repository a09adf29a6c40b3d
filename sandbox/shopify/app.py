"""Shopify Admin GraphQL API emulator, mounted at ``/shopify/{shop}``.

``POST {base}/admin/api/{version}/graphql.json`` with ``X-Shopify-Access-Token`` runs a GraphQL
request against ``schema.graphql`` (a faithful subset of Shopify's Admin schema) over the shop's
records in the merchant state.  Each request is costed (``cost.py``), charged to the shop's leaky
bucket, executed under the state lock, and answered with ``extensions.cost`` as Shopify does.
``GET {base}/_bulk/{n}.jsonl`` serves bulk-operation results (``bulk.py``).

The schema is parsed once per process; parsed and validated documents are cached by query text,
since extractors send the same query page after page.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError
from graphql.execution.values import get_variable_values
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from sandbox.context import SandboxContext
from sandbox.shopify.bulk import BulkManager
from sandbox.shopify.cost import Buckets, CostCalculator
from sandbox.shopify.mutations import MUTATIONS
from sandbox.shopify.resolvers import RequestContext, bind
from sandbox.shopify.store import ShopStore
from sandbox.state import ConnectionState

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
RATE_LIMIT_DOCS = "https://shopify.dev/api/usage/rate-limits"
_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
_DOC_CACHE_SIZE = 256

_schema: GraphQLSchema | None = None
_schema_lock = threading.Lock()


def get_schema() -> GraphQLSchema:
    """The Admin API schema with resolvers bound; built on first use and shared."""
    global _schema
    with _schema_lock:
        if _schema is None:
            schema = build_schema(SCHEMA_PATH.read_text())
            bind(schema, MUTATIONS)
            _schema = schema
        return _schema


def _max_cost_message(cost: int, limit: int) -> str:
    return (
        f"Query cost is {cost}, which exceeds the single query max cost limit ({limit}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
        "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    )


class ShopifyEmulator:
    """State shared by every request of one sandbox: buckets, bulk operations, indexes, doc cache."""

    def __init__(self, ctx: SandboxContext):
        self.ctx = ctx
        self.schema = get_schema()
        self.buckets = Buckets()
        self.bulk = BulkManager(self.schema)
        self._stores: dict[str, ShopStore] = {}
        self._docs: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError], dict[Any, Any]]] = OrderedDict()
        self._docs_lock = threading.Lock()

    def store(self, conn: ConnectionState) -> ShopStore:
        store = self._stores.get(conn.id)
        if store is None or store.conn is not conn:
            store = ShopStore(conn)
            self._stores[conn.id] = store
        return store

    def _prepare(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError], dict[Any, Any]]:
        """Parse and validate once per query text; the third item is the document's cost-plan cache."""
        with self._docs_lock:
            hit = self._docs.get(query)
            if hit is not None:
                self._docs.move_to_end(query)
                return hit
        try:
            document: DocumentNode | None = parse(query)
            errors = list(validate(self.schema, document))  # type: ignore[arg-type]
        except GraphQLSyntaxError as exc:
            document, errors = None, [exc]
        entry = (document, errors, {})
        with self._docs_lock:
            self._docs[query] = entry
            while len(self._docs) > _DOC_CACHE_SIZE:
                self._docs.popitem(last=False)
        return entry

    def _cost_ext(self, requested: int, actual: int | None, status: dict[str, Any]) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}

    def handle(self, conn: ConnectionState, body: dict[str, Any], base_url: str) -> tuple[int, dict[str, Any]]:
        """Run one GraphQL request; returns (HTTP status, JSON body)."""
        shop = conn.shop_domain
        cfg = self.ctx.config.shopify_throttle
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}
        variables = body.get("variables") or {}
        if isinstance(variables, str):
            try:
                variables = json.loads(variables) if variables.strip() else {}
            except json.JSONDecodeError:
                return 400, {"errors": {"variables": "Invalid JSON"}}
        if not isinstance(variables, dict):
            return 400, {"errors": {"variables": "Must be a JSON object"}}
        document, errors, plans = self._prepare(query)
        status = self.buckets.status(shop, cfg)
        if errors or document is None:
            return 200, {"errors": [e.formatted for e in errors], "extensions": self._cost_ext(0, 0, status)}
        operation_name = body.get("operationName")
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = f"No operation named '{operation_name}'" if operation_name else "An operation name is required"
            return 200, {"errors": [{"message": message}], "extensions": self._cost_ext(0, 0, status)}
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return 200, {"errors": [e.formatted for e in coerced], "extensions": self._cost_ext(0, 0, status)}
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        calc = CostCalculator(self.schema, operation, fragments, coerced, plans)
        requested = calc.requested()
        if requested > cfg.max_query_cost:
            error = {
                "message": _max_cost_message(requested, cfg.max_query_cost),
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": cfg.max_query_cost},
            }
            return 200, {"errors": [error], "extensions": self._cost_ext(requested, None, status)}
        ok, status = self.buckets.take(shop, cfg, requested)
        if not ok:
            self.ctx.counters.incr("shopify.throttled")
            error = {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOCS}}
            return 200, {"errors": [error], "extensions": self._cost_ext(requested, None, status)}
        with self.ctx.state.lock:
            store = self.store(conn)
            store.refresh()
            rctx = RequestContext(sandbox=self.ctx, conn=conn, store=store, bulk_manager=self.bulk, base_url=base_url)
            result = execute_sync(
                self.schema, document, context_value=rctx, variable_values=variables, operation_name=operation_name
            )
        actual = calc.actual(result.data)
        status = self.buckets.give_back(shop, cfg, requested - actual)
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["data"] = result.data
        extensions = self._cost_ext(requested, actual, status)
        if rctx.search:
            extensions["search"] = rctx.search
        payload["extensions"] = extensions
        return 200, payload


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json; charset=utf-8", headers=headers)


def build_shopify_app(ctx: SandboxContext) -> Starlette:
    emulator = ShopifyEmulator(ctx)

    async def graphql_endpoint(request: Request) -> Response:
        shop = request.path_params["shop"]
        conn = ctx.state.by_shop_domain(shop)
        version = request.path_params["version"]
        if conn is None or not _VERSION.match(version):
            return _json({"errors": "Not Found"}, 404)
        if request.headers.get("x-shopify-access-token") != conn.manifest["shopify"]["access_token"]:
            return _json({"errors": INVALID_TOKEN}, 401)
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/graphql"):
            body: Any = {"query": raw.decode("utf-8", "replace")}
        else:
            try:
                body = json.loads(raw or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
            if not isinstance(body, dict):
                return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        base_url = f"{request.url.scheme}://{request.url.netloc}/shopify/{shop}"
        status, payload = await run_in_threadpool(emulator.handle, conn, body, base_url)
        headers = {"X-Shopify-API-Version": version, "X-Request-Id": uuid.uuid4().hex}
        return _json(payload, status, headers)

    async def bulk_file(request: Request) -> Response:
        shop = request.path_params["shop"]
        path = emulator.bulk.download(shop, request.path_params["filename"])
        if path is None:
            return _json({"errors": "Not Found"}, 404)
        return FileResponse(path, media_type="application/jsonl")

    async def not_found(_: Request) -> Response:
        return _json({"errors": "Not Found"}, 404)

    app = Starlette(
        routes=[
            Route("/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
            Route("/_bulk/{filename}", bulk_file, methods=["GET"]),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
    app.state.emulator = emulator
    return app
