"""Bulk operations: ``bulkOperationRunQuery``, polling, and the JSONL result file.

A bulk query runs once, in a background thread taking the state lock one window of top-level
rows at a time (the rows are fixed when the run starts), with every connection
unpaged (``first``/``after`` are ignored, ``query``/``sortKey``/``reverse`` are honoured).  The
result is flattened the way Shopify writes it: each node of the top-level connection is one JSON
line; each node of a nested connection is its own line, after its parent, with ``"__parentId"``
set to the id of the object holding the connection (the order for ``lineItems``, the refund for
``refunds { refundLineItems }``).  Plain objects and lists (``refunds``, ``trackingInfo``) stay inline.

Polling drives the status: the operation reports ``RUNNING`` for the first
``config.bulk.polls_until_complete`` polls (``currentBulkOperation`` or ``node(id:)``), then
``COMPLETED`` (or ``FAILED`` with ``errorCode: INTERNAL_SERVER_ERROR`` and a ``partialDataUrl``
when ``config.bulk.fail_next`` was set at creation).  Result files are served without a token,
like Shopify's signed storage URLs.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    default_field_resolver,
    execute_sync,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path as GqlPath

from sandbox.shopify.store import gid, num
from sandbox.state import iso

if TYPE_CHECKING:
    from sandbox.shopify.resolvers import RequestContext

Record = dict[str, Any]
MAX_CONNECTIONS = 5
MAX_DEPTH = 2
#: top-level rows resolved per pass of a bulk query
BULK_CHUNK = 500


class BulkQueryError(ValueError):
    pass


@dataclass
class BulkOp:
    id: str
    shop: str
    query: str
    created_at: str
    base_url: str
    fail: bool
    status: str = "CREATED"
    polls: int = 0
    error_code: str | None = None
    completed_at: str | None = None
    #: the JSONL result, written chunk by chunk (a million orders do not fit in memory as lines)
    path: Path | None = None
    line_count: int = 0
    partial_path: Path | None = None
    root_count: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    url: str | None = None
    partial_url: str | None = None
    object_count: int = 0
    file_size: int | None = None

    def view(self) -> Record:
        return {
            "__typename": "BulkOperation",
            "id": self.id,
            "status": self.status,
            "errorCode": self.error_code,
            "createdAt": self.created_at,
            "completedAt": self.completed_at,
            "objectCount": str(self.object_count),
            "rootObjectCount": str(self.root_count if self.status == "COMPLETED" else 0),
            "fileSize": None if self.file_size is None else str(self.file_size),
            "url": self.url,
            "partialDataUrl": self.partial_url,
            "query": self.query,
            "type": "QUERY",
        }


class _Selections:
    """Field collection over fragments, shared by validation and flattening."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments

    def _applies(self, condition: str | None, typ: GraphQLNamedType) -> bool:
        if condition is None or condition == typ.name:
            return True
        cond = self.schema.get_type(condition)
        if cond is not None and is_abstract_type(cond) and isinstance(typ, GraphQLObjectType):
            return self.schema.is_sub_type(cond, typ)  # type: ignore[arg-type]
        return bool(is_abstract_type(typ))

    def collect(self, sel_sets: list[SelectionSetNode], typ: GraphQLNamedType) -> dict[str, list[FieldNode]]:
        cache = self.__dict__.setdefault("_collected", {})
        key = (tuple(map(id, sel_sets)), typ.name)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = (self._collect(sel_sets, typ), sel_sets)  # sel_sets kept alive: ids stay unique
        return hit[0]

    def _collect(self, sel_sets: list[SelectionSetNode], typ: GraphQLNamedType) -> dict[str, list[FieldNode]]:
        out: dict[str, list[FieldNode]] = {}

        def walk(ss: SelectionSetNode) -> None:
            for sel in ss.selections:
                if isinstance(sel, FieldNode):
                    out.setdefault(sel.alias.value if sel.alias else sel.name.value, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    cond = sel.type_condition.name.value if sel.type_condition else None
                    if self._applies(cond, typ):
                        walk(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    frag = self.fragments.get(sel.name.value)
                    if frag is not None and self._applies(frag.type_condition.name.value, typ):
                        walk(frag.selection_set)

        for ss in sel_sets:
            walk(ss)
        return out

    def field_type(self, typ: GraphQLNamedType, name: str) -> GraphQLNamedType | None:
        if is_abstract_type(typ):
            for t in self.schema.get_possible_types(typ):  # type: ignore[arg-type]
                if name in t.fields:
                    return get_named_type(t.fields[name].type)
            return None
        fdef = typ.fields.get(name)  # type: ignore[union-attr]
        return get_named_type(fdef.type) if fdef else None

    def connection_nodes(
        self, conn_type: GraphQLObjectType, fnodes: list[FieldNode], value: Any
    ) -> tuple[list[SelectionSetNode], GraphQLNamedType, list[Any]]:
        """The node selection sets, node type and (if ``value``) node data of a connection field."""
        node_type = get_named_type(conn_type.fields["nodes"].type)
        edge_type = get_named_type(conn_type.fields["edges"].type)
        subs = [n.selection_set for n in fnodes if n.selection_set]
        node_sets: list[SelectionSetNode] = []
        data: list[Any] = []
        for key, nodes in self.collect(subs, conn_type).items():
            name = nodes[0].name.value
            inner = [n.selection_set for n in nodes if n.selection_set]
            if name == "nodes":
                node_sets.extend(inner)
                if value is not None and not data:
                    data = list(value.get(key) or [])
            elif name == "edges":
                for ekey, enodes in self.collect(inner, edge_type).items():
                    if enodes[0].name.value == "node":
                        node_sets.extend(n.selection_set for n in enodes if n.selection_set)
                        if value is not None and not data:
                            data = [e.get(ekey) for e in value.get(key) or [] if e]
        return node_sets, node_type, data


def is_connection(typ: GraphQLNamedType | None) -> bool:
    return isinstance(typ, GraphQLObjectType) and typ.name.endswith("Connection") and "edges" in typ.fields


def _check_shape(sel: _Selections, operation: OperationDefinitionNode) -> None:
    """Shopify's bulk-query rules: top-level connections, <= 5 connections, <= 2 levels, parent ids."""
    root = sel.schema.query_type
    assert root is not None
    count = 0

    def walk(sel_sets: list[SelectionSetNode], typ: GraphQLNamedType, depth: int, path: str) -> None:
        nonlocal count
        fields = sel.collect(sel_sets, typ)
        for key, fnodes in fields.items():
            name = fnodes[0].name.value
            ftype = sel.field_type(typ, name)
            if ftype is None or is_leaf_type(ftype):
                continue
            subs = [n.selection_set for n in fnodes if n.selection_set]
            if is_connection(ftype):
                count += 1
                if depth > MAX_DEPTH:
                    raise BulkQueryError(
                        f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
                    )
                parent_id = fields.get("id")
                if depth > 0 and (parent_id is None or parent_id[0].name.value != "id"):
                    raise BulkQueryError(
                        "The parent 'node' field for a nested connection must select the 'id' field without an "
                        f"alias and must be of 'ID' return type. Connection fields without 'id': {key}."
                    )
                node_sets, node_type, _ = sel.connection_nodes(ftype, fnodes, None)  # type: ignore[arg-type]
                walk(node_sets, node_type, depth + 1, f"{path}.{key}")
            else:
                walk(subs, ftype, depth, f"{path}.{key}")

    top = sel.collect([operation.selection_set], root)
    if not top:
        raise BulkQueryError("Bulk queries must contain at least one connection.")
    for key, fnodes in top.items():
        ftype = sel.field_type(root, fnodes[0].name.value)
        if not is_connection(ftype):
            raise BulkQueryError(f"Bulk queries must contain at least one connection. '{key}' is not a connection.")
    walk([operation.selection_set], root, 0, "")
    if count > MAX_CONNECTIONS:
        raise BulkQueryError(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")


class _FastPathUnsupported(Exception):
    """The query needs something the direct executor does not do (abstract types, variables...)."""


class _Info:
    """The parts of ``GraphQLResolveInfo`` the sandbox's resolvers read."""

    __slots__ = ("context", "field_name", "path")

    def __init__(self, context: Any, field_name: str, path: GqlPath) -> None:
        self.context = context
        self.field_name = field_name
        self.path = path


#: the path handed to resolvers below the top level (only top-level ones read it)
_NESTED = GqlPath(None, "", None)


def execute_direct(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    context: Any,
    plans: dict[Any, Any] | None = None,
) -> Record:
    """Resolve a bulk query the way graphql-core does, minus its per-field machinery.

    Same resolvers, same default resolver, same scalar serialisation, so the data is the same;
    a bulk run checks that on its first window against ``execute_sync`` and falls back to it on
    any difference.  The selection is compiled once per (type, selection) into a field plan
    (``plans`` carries them across windows).  Raises ``_FastPathUnsupported`` for what it does
    not handle (a resolver error, an abstract type, a null in a non-null field).
    """
    sel = _Selections(schema, fragments)
    root = schema.query_type
    assert root is not None
    plans = {} if plans is None else plans

    def plan_of(typ: Any, sel_sets: list[SelectionSetNode]) -> list[tuple[Any, ...]]:
        key = (typ.name, tuple(map(id, sel_sets)))
        hit = plans.get(key)
        if hit is not None:
            return hit[0]
        fields = []
        for out_key, fnodes in sel.collect(sel_sets, typ).items():
            name = fnodes[0].name.value
            if name == "__typename":
                fields.append((out_key, name, None, None, None, typ.name))
                continue
            fdef = typ.fields.get(name)
            if fdef is None:
                raise _FastPathUnsupported(name)
            node = fnodes[0]
            if any(not isinstance(a.value, ValueNode) for a in node.arguments or ()):
                raise _FastPathUnsupported("arguments")
            args = get_argument_values(fdef, node, {})
            subs = [n.selection_set for n in fnodes if n.selection_set]
            fields.append(
                (out_key, name, fdef.resolve or default_field_resolver, args, completer(fdef.type, subs), None)
            )
        plans[key] = (fields, sel_sets)  # sel_sets kept alive so their ids stay unique
        return fields

    def completer(typ: Any, subs: list[SelectionSetNode]) -> Callable[[Any, GqlPath], Any]:
        if is_non_null_type(typ):
            inner_nn = completer(typ.of_type, subs)

            def non_null(value: Any, path: GqlPath) -> Any:
                out = inner_nn(value, path)
                if out is None:
                    raise _FastPathUnsupported("null in a non-null field")
                return out

            return non_null
        if is_list_type(typ):
            inner_list = completer(typ.of_type, subs)

            def listed(value: Any, path: GqlPath | None) -> Any:
                if value is None:
                    return None
                if path is None:
                    return [inner_list(v, None) for v in value]
                return [inner_list(v, path.add_key(i)) for i, v in enumerate(value)]

            return listed
        if is_leaf_type(typ):
            serialize = typ.serialize

            def leaf(value: Any, _path: GqlPath) -> Any:
                if value is None:
                    return None
                out = serialize(value)
                if out is None:
                    raise _FastPathUnsupported("unserialisable leaf")
                return out

            return leaf
        if is_abstract_type(typ):
            raise _FastPathUnsupported("abstract type")
        holder: list[Any] = []

        def obj(value: Any, path: GqlPath) -> Any:
            if value is None:
                return None
            if not holder:
                holder.append(plan_of(typ, subs))
            return resolve_object(holder[0], value, path or _NESTED)

        return obj

    def resolve_object(fields: list[tuple[Any, ...]], source: Any, path: GqlPath | None) -> Record:
        out: Record = {}
        plain = type(source) is dict
        for out_key, name, resolver, args, complete, typename in fields:
            if typename is not None:
                out[out_key] = typename
                continue
            # resolvers read info.path only for search warnings on top-level connections
            fpath = GqlPath(None, out_key, None) if path is None else None
            try:
                if resolver is default_field_resolver:  # its own logic, without the Mapping ABC check
                    value = source.get(name) if plain else default_field_resolver(source, _Info(context, name, fpath))
                    if plain and callable(value):
                        value = value(_Info(context, name, fpath), **args)
                else:
                    value = resolver(source, _Info(context, name, fpath), **args)
            except Exception as exc:
                raise _FastPathUnsupported(f"resolver error in {name}") from exc
            out[out_key] = complete(value, fpath)
        return out

    return resolve_object(plan_of(root, [operation.selection_set]), None, None)


def flatten(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    data: Record,
) -> tuple[list[str], int]:
    """Shopify's JSONL: one line per node, nested connection nodes as lines with ``__parentId``.

    The plain, uncompiled walk: the definition ``flatten_into`` (what bulk runs use) must match.
    """
    sel = _Selections(schema, fragments)
    root = schema.query_type
    assert root is not None
    lines: list[str] = []
    roots = 0

    def strip(
        value: Any, sel_sets: list[SelectionSetNode], typ: GraphQLNamedType, owner: str | None, kids: list[Any]
    ) -> Any:
        if value is None or is_leaf_type(typ):
            return value
        if isinstance(value, list):
            return [strip(v, sel_sets, typ, owner, kids) for v in value]
        out: Record = {}
        owner = value.get("id") or owner
        for key, fnodes in sel.collect(sel_sets, typ).items():
            if key not in value:
                continue
            ftype = sel.field_type(typ, fnodes[0].name.value)
            if ftype is None or is_leaf_type(ftype):
                out[key] = value[key]
            elif is_connection(ftype):
                node_sets, node_type, nodes = sel.connection_nodes(ftype, fnodes, value[key] or {})  # type: ignore[arg-type]
                kids.extend((n, node_sets, node_type, owner) for n in nodes if n is not None)
            else:
                subs = [n.selection_set for n in fnodes if n.selection_set]
                out[key] = strip(value[key], subs, ftype, owner, kids)
        return out

    def emit(node: Record, sel_sets: list[SelectionSetNode], typ: GraphQLNamedType, parent: str | None) -> None:
        kids: list[Any] = []
        line = strip(node, sel_sets, typ, node.get("id"), kids)
        if parent is not None:
            line["__parentId"] = parent
        lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False))
        for child, child_sets, child_type, owner in kids:
            emit(child, child_sets, child_type, owner)

    for key, fnodes in sel.collect([operation.selection_set], root).items():
        ftype = sel.field_type(root, fnodes[0].name.value)
        node_sets, node_type, nodes = sel.connection_nodes(ftype, fnodes, data.get(key) or {})  # type: ignore[arg-type]
        for node in nodes:
            if node is not None:
                roots += 1
                emit(node, node_sets, node_type, None)
    return lines, roots


def _dumps(line: Record) -> str:
    """``json.dumps(line, separators=(",", ":"), ensure_ascii=False)``, through orjson when it can."""
    try:
        return orjson.dumps(line).decode()
    except TypeError:  # an int beyond 64 bits: the standard library's exact form
        return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


class _FlatPlan:
    """What ``flatten`` keeps of one (type, selection), worked out once: (key, kind, child) entries.

    kind 0 copies a leaf, 1 turns a connection into child lines (child: where its nodes are and
    the nodes' plan), 2 strips a nested object or list inline (child: its plan).
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[str, int, Any]] = []


def flatten_into(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    data: Record,
    write: Callable[[str], Any],
    plans: dict[Any, Any] | None = None,
) -> int:
    """``flatten`` with its walk compiled per (type, selection); ``plans`` carries them across windows."""
    sel = _Selections(schema, fragments)
    root = schema.query_type
    assert root is not None
    plans = {} if plans is None else plans

    def plan_of(typ: GraphQLNamedType, sel_sets: list[SelectionSetNode]) -> _FlatPlan:
        key = (typ.name, tuple(map(id, sel_sets)))
        hit = plans.get(key)
        if hit is not None:
            return hit[0]
        plan = _FlatPlan()
        plans[key] = (plan, sel_sets)  # registered before children: recursive types terminate
        for out_key, fnodes in sel.collect(sel_sets, typ).items():
            ftype = sel.field_type(typ, fnodes[0].name.value)
            if ftype is None or is_leaf_type(ftype):
                plan.entries.append((out_key, 0, None))
            elif is_connection(ftype):
                plan.entries.append((out_key, 1, connection_plan(ftype, fnodes)))  # type: ignore[arg-type]
            else:
                subs = [n.selection_set for n in fnodes if n.selection_set]
                plan.entries.append((out_key, 2, plan_of(ftype, subs)))
        return plan

    def connection_plan(conn_type: GraphQLObjectType, fnodes: list[FieldNode]) -> tuple[list[Any], _FlatPlan]:
        """Where a connection's node data is (in ``connection_nodes``' order) and the nodes' plan."""
        node_sets, node_type, _ = sel.connection_nodes(conn_type, fnodes, None)
        edge_type = get_named_type(conn_type.fields["edges"].type)
        subs = [n.selection_set for n in fnodes if n.selection_set]
        sources: list[Any] = []
        for key, nodes in sel.collect(subs, conn_type).items():
            name = nodes[0].name.value
            if name == "nodes":
                sources.append((key, None))
            elif name == "edges":
                inner = [n.selection_set for n in nodes if n.selection_set]
                for ekey, enodes in sel.collect(inner, edge_type).items():
                    if enodes[0].name.value == "node":
                        sources.append((key, ekey))
        return sources, plan_of(node_type, node_sets)

    def nodes_of(sources: list[Any], value: Record) -> list[Any]:
        for key, ekey in sources:
            rows = value.get(key) or []
            found = list(rows) if ekey is None else [e.get(ekey) for e in rows if e]
            if found:
                return found
        return []

    def strip(value: Any, plan: _FlatPlan, owner: str | None, kids: list[Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [strip(v, plan, owner, kids) for v in value]
        out: Record = {}
        owner = value.get("id") or owner
        for key, kind, child in plan.entries:
            if key not in value:
                continue
            if kind == 0:
                out[key] = value[key]
            elif kind == 1:
                sources, node_plan = child
                kids.extend((n, node_plan, owner) for n in nodes_of(sources, value[key] or {}) if n is not None)
            else:
                out[key] = strip(value[key], child, owner, kids)
        return out

    def emit(node: Record, plan: _FlatPlan, parent: str | None) -> None:
        kids: list[Any] = []
        line = strip(node, plan, node.get("id"), kids)
        if parent is not None:
            line["__parentId"] = parent
        write(_dumps(line))
        for child, child_plan, owner in kids:
            emit(child, child_plan, owner)

    roots = 0
    for key, fnodes in sel.collect([operation.selection_set], root).items():
        ftype = sel.field_type(root, fnodes[0].name.value)
        sources, node_plan = connection_plan(ftype, fnodes)  # type: ignore[arg-type]
        for node in nodes_of(sources, data.get(key) or {}):
            if node is not None:
                roots += 1
                emit(node, node_plan, None)
    return roots


class BulkManager:
    """Bulk operations and async jobs for every shop of one sandbox."""

    def __init__(self, schema: GraphQLSchema):
        self.schema = schema
        self._ops: dict[str, BulkOp] = {}
        self._latest: dict[str, str] = {}
        self._next = 1
        self._jobs: dict[str, Record] = {}
        self._next_job = 1
        self._lock = threading.Lock()
        #: resolve bulk windows with ``execute_direct`` (checked against graphql-core on the first)
        self.direct_enabled = True
        self._spool = tempfile.TemporaryDirectory(prefix="sandbox-bulk-")
        self.spool_dir = self._spool.name

    # ----------------------------------------------------------------- jobs

    def new_job(self) -> Record:
        with self._lock:
            ident = gid("Job", str(uuid.UUID(int=self._next_job)))
            self._next_job += 1
            self._jobs[ident] = {"__typename": "Job", "id": ident, "done": False}
            return dict(self._jobs[ident])

    def job(self, ident: str) -> Record | None:
        """Jobs finish as soon as they are created; a poll reports ``done: true``."""
        job = self._jobs.get(ident)
        if job is None:
            return None
        job["done"] = True
        return job

    # ----------------------------------------------------------------- bulk operations

    def run_query(self, rctx: RequestContext, query: str) -> Record:
        shop = rctx.conn.shop_domain
        latest = self._ops.get(self._latest.get(shop, ""))
        if latest is not None and latest.status in ("CREATED", "RUNNING"):
            return _user_error(
                None,
                f"A bulk query operation for this app and shop is already in progress: {latest.id}.",
                "OPERATION_IN_PROGRESS",
            )
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            return _user_error(["query"], f"Invalid bulk query: {exc.message}", "INVALID")
        errors = validate(self.schema, document)
        if errors:
            return _user_error(["query"], f"Invalid bulk query: {errors[0].message}", "INVALID")
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(ops) != 1 or ops[0].operation != OperationType.QUERY:
            return _user_error(["query"], "Invalid bulk query: expected exactly one query operation.", "INVALID")
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        try:
            _check_shape(_Selections(self.schema, fragments), ops[0])
        except BulkQueryError as exc:
            return _user_error(["query"], str(exc), "INVALID")
        bulk_cfg = rctx.sandbox.config.bulk
        with self._lock:
            number = self._next
            self._next += 1
        op = BulkOp(
            id=gid("BulkOperation", number),
            shop=shop,
            query=query,
            created_at=iso(rctx.sandbox.state.clock.now()),
            base_url=rctx.base_url,
            fail=bool(bulk_cfg.fail_next),
        )
        bulk_cfg.fail_next = False
        self._ops[op.id] = op
        self._latest[shop] = op.id
        worker = threading.Thread(
            target=self._execute, args=(rctx, op, document, ops[0], fragments), name=f"bulk-{number}", daemon=True
        )
        worker.start()
        return {"bulkOperation": op.view(), "userErrors": []}

    def _execute(
        self,
        rctx: RequestContext,
        op: BulkOp,
        document: Any,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        from sandbox.shopify.resolvers import RequestContext

        fd, name = tempfile.mkstemp(prefix="sandbox-bulk-", suffix=".jsonl", dir=self.spool_dir)
        op.path = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:

                def write(line: str) -> None:
                    out.write(line)
                    out.write("\n")
                    op.line_count += 1

                start = 0
                direct = True
                resolve_plans: dict[Any, Any] = {}
                flatten_plans: dict[Any, Any] = {}
                #: the top-level rows, taken once: windows page through the same list even if
                #: writes between windows re-sort the store's views
                snapshot: dict[Any, Any] = {}
                while True:  # the top-level connection a window at a time: bounded memory at any size
                    # the state lock is held per window, not per run: other requests (polls,
                    # TikTok pages, writes) get in between windows of a long run
                    with rctx.sandbox.state.lock:
                        rctx.store.refresh()
                        bulk_ctx = RequestContext(
                            sandbox=rctx.sandbox,
                            conn=rctx.conn,
                            store=rctx.store,
                            bulk_manager=self,
                            base_url=rctx.base_url,
                            bulk=True,
                            bulk_window=(start, start + BULK_CHUNK),
                            bulk_snapshot=snapshot,
                        )
                        data = self._window(document, operation, fragments, bulk_ctx, direct, start == 0, resolve_plans)
                        direct = direct and data is not None
                        rctx.sandbox.counters.incr(
                            "shopify.bulk_windows.direct" if direct else "shopify.bulk_windows.graphql"
                        )
                        if data is None:
                            data = execute_sync(self.schema, document, context_value=bulk_ctx).data or {}
                        op.root_count += flatten_into(self.schema, operation, fragments, data, write, flatten_plans)
                    start += BULK_CHUNK
                    if start >= bulk_ctx.bulk_total:
                        break
        except Exception:  # a crashed bulk query is reported as FAILED, as Shopify does
            op.path.write_bytes(b"")
            op.line_count, op.root_count, op.fail = 0, 0, True
        finally:
            op.done.set()

    def _window(
        self,
        document: Any,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        bulk_ctx: RequestContext,
        direct: bool,
        check: bool,
        plans: dict[Any, Any],
    ) -> Record | None:
        """One window's data through ``execute_direct``; None means "use graphql-core".

        The first window is resolved both ways and compared: the direct executor is only trusted
        for a query whose first rows it renders exactly as graphql-core does.
        """
        if not direct or not self.direct_enabled:
            return None
        try:
            data = execute_direct(self.schema, operation, fragments, bulk_ctx, plans)
        except _FastPathUnsupported:
            return None
        if check:
            reference = execute_sync(self.schema, document, context_value=bulk_ctx)
            if reference.errors or reference.data != data:
                return None
        return data

    def _advance(self, rctx: RequestContext, op: BulkOp) -> None:
        if op.status not in ("CREATED", "RUNNING"):
            return
        op.polls += 1
        if op.polls <= int(rctx.sandbox.config.bulk.polls_until_complete) or not op.done.is_set():
            op.status = "RUNNING"
            return
        op.completed_at = iso(rctx.sandbox.state.clock.now())
        base = f"{op.base_url}/_bulk/{num(op.id)}"
        if op.fail:
            kept = op.line_count // 2
            if kept and op.path is not None:
                op.partial_path = op.path.with_suffix(".partial.jsonl")
                with op.path.open("rb") as src, op.partial_path.open("wb") as dst:
                    for _, line in zip(range(kept), src, strict=False):
                        dst.write(line)
            op.status = "FAILED"
            op.error_code = "INTERNAL_SERVER_ERROR"
            op.object_count = kept
            op.partial_url = f"{base}.partial.jsonl" if kept else None
            return
        op.status = "COMPLETED"
        op.object_count = op.line_count
        op.file_size = op.path.stat().st_size if op.path is not None else 0
        op.url = f"{base}.jsonl" if op.line_count else None

    def poll(self, rctx: RequestContext, ident: str) -> Record | None:
        op = self._ops.get(ident)
        if op is None or op.shop != rctx.conn.shop_domain:
            return None
        self._advance(rctx, op)
        return op.view()

    def current(self, rctx: RequestContext, op_type: str) -> Record | None:
        if op_type != "QUERY":
            return None
        ident = self._latest.get(rctx.conn.shop_domain)
        return self.poll(rctx, ident) if ident else None

    def cancel(self, rctx: RequestContext, ident: str) -> Record:
        op = self._ops.get(ident)
        if op is None or op.shop != rctx.conn.shop_domain:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
            }
        if op.status not in ("CREATED", "RUNNING"):
            return {
                "bulkOperation": op.view(),
                "userErrors": [
                    {"field": None, "message": f"A bulk operation cannot be canceled when it is {op.status.lower()}"}
                ],
            }
        op.status = "CANCELED"
        op.completed_at = iso(rctx.sandbox.state.clock.now())
        return {"bulkOperation": op.view(), "userErrors": []}

    def download(self, shop: str, filename: str) -> Path | None:
        """The body behind ``url`` / ``partialDataUrl`` (``{n}.jsonl`` / ``{n}.partial.jsonl``)."""
        partial = filename.endswith(".partial.jsonl")
        stem = filename.removesuffix(".partial.jsonl").removesuffix(".jsonl")
        op = self._ops.get(gid("BulkOperation", stem))
        if op is None or op.shop != shop:
            return None
        if partial and op.status == "FAILED" and op.partial_url:
            return op.partial_path
        if not partial and op.status == "COMPLETED" and op.url:
            return op.path
        return None


def _user_error(field_path: list[str] | None, message: str, code: str) -> Record:
    return {"bulkOperation": None, "userErrors": [{"field": field_path, "message": message, "code": code}]}
