"""Shopify's calculated query cost and the per-shop leaky bucket.

``requestedQueryCost`` is computed statically, before execution, with these rules:

* scalar and enum fields cost 0; ``__typename`` and introspection fields cost 0;
* an object field costs 1 plus the cost of its selection;
* an interface field (``node``) costs 1 plus its most expensive possible selection;
* a connection field (a type named ``...Connection``) costs 2 + N x (1 + cost of one node's
  selection), N being ``first`` or ``last``.  The node is reached through ``edges { node }`` or
  ``nodes`` (the dearer one if both are selected); ``edges``, ``cursor`` and ``pageInfo`` are free;
* a plain list of objects (``Order.refunds``, ``Order.fulfillments``, ``Order.transactions``,
  ``Fulfillment.trackingInfo``, ``nodes(ids:)``, ``InventoryLevel.quantities(names:)``) costs
  N x (1 + selection), N being ``first``, else the length of ``ids`` / ``names``, else 1;
* each mutation root field costs 10 and its payload selection is free.

``actualQueryCost`` applies the same rules to what was returned: N is the number of nodes in the
response, and a null object costs nothing.  Example: ``orders(first: 50) { nodes { id
lineItems(first: 50) { nodes { sku variant { id } originalUnitPriceSet { shopMoney { amount } } } } } }``
requests 2 + 50 x (1 + 2 + 50 x (1 + 1 + 2)) = 10152 -- over the 1000 limit, as on Shopify.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_argument_values

from sandbox.context import ShopifyThrottleConfig

MUTATION_COST = 10
_ABSENT = object()


class CostCalculator:
    """Static and actual cost of one operation.

    ``plans`` caches the per-selection analysis (which fields cost what); it depends only on the
    document, so the caller keeps one dict per cached document and shares it across requests.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        plans: dict[Any, Any] | None = None,
    ):
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.plans: dict[Any, Any] = {} if plans is None else plans

    # ----------------------------------------------------------------- public

    def requested(self) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return self._mutation_cost()
        root = self.schema.query_type
        assert root is not None
        return self._selection_cost([self.operation.selection_set], root, _ABSENT)

    def actual(self, data: Any) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return self._mutation_cost()
        if not isinstance(data, dict):
            return 0
        root = self.schema.query_type
        assert root is not None
        return self._selection_cost([self.operation.selection_set], root, data)

    # ----------------------------------------------------------------- walking

    def _mutation_cost(self) -> int:
        root = self.schema.mutation_type
        assert root is not None
        fields = self._collect([self.operation.selection_set], root)
        return MUTATION_COST * sum(1 for key, nodes in fields.items() if not nodes[0].name.value.startswith("__"))

    def _applies(self, condition: str | None, obj_type: GraphQLObjectType) -> bool:
        if condition is None or condition == obj_type.name:
            return True
        cond_type = self.schema.get_type(condition)
        if cond_type is None or not is_abstract_type(cond_type):
            return False
        return self.schema.is_sub_type(cond_type, obj_type)  # type: ignore[arg-type]

    def _collect(self, sel_sets: Iterable[SelectionSetNode], obj_type: GraphQLObjectType) -> dict[str, list[FieldNode]]:
        out: dict[str, list[FieldNode]] = {}

        def walk(ss: SelectionSetNode) -> None:
            for sel in ss.selections:
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    out.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    cond = sel.type_condition.name.value if sel.type_condition else None
                    if self._applies(cond, obj_type):
                        walk(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    frag = self.fragments.get(sel.name.value)
                    if frag is not None and self._applies(frag.type_condition.name.value, obj_type):
                        walk(frag.selection_set)

        for ss in sel_sets:
            walk(ss)
        return out

    def _plan(self, sel_sets: list[SelectionSetNode], obj_type: GraphQLObjectType) -> list[tuple[Any, ...]]:
        """The fields of a selection that can cost anything: (key, kind, field, nodes, type, subs)."""
        cache_key = (tuple(map(id, sel_sets)), obj_type.name)
        plan = self.plans.get(cache_key)
        if plan is not None:
            return plan  # type: ignore[no-any-return]
        plan = []
        for key, nodes in self._collect(sel_sets, obj_type).items():
            name = nodes[0].name.value
            fdef = None if name.startswith("__") else obj_type.fields.get(name)
            if fdef is None:
                continue
            named = get_named_type(fdef.type)
            if is_leaf_type(named):
                continue
            subs = [n.selection_set for n in nodes if n.selection_set is not None]
            if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
                kind = "connection"
            elif is_list_type(get_nullable_type(fdef.type)):  # type: ignore[arg-type]
                kind = "list"
            else:
                kind = "object"
            plan.append((key, kind, fdef, nodes, named, subs))
        self.plans[cache_key] = plan
        return plan

    def _selection_cost(self, sel_sets: list[SelectionSetNode], typ: GraphQLNamedType, data: Any) -> int:
        if not sel_sets:
            return 0
        if is_abstract_type(typ):
            possible = self.schema.get_possible_types(typ)  # type: ignore[arg-type]
            return max((self._object_cost(sel_sets, t, data) for t in possible), default=0)
        return self._object_cost(sel_sets, typ, data)  # type: ignore[arg-type]

    def _object_cost(self, sel_sets: list[SelectionSetNode], obj_type: GraphQLObjectType, data: Any) -> int:
        total = 0
        static = data is _ABSENT
        for key, kind, fdef, nodes, named, subs in self._plan(sel_sets, obj_type):
            if static:
                total += self._field_cost(kind, fdef, nodes, named, subs, _ABSENT)
            elif isinstance(data, dict) and key in data:
                value = data[key]
                if value is not None:
                    total += self._field_cost(kind, fdef, nodes, named, subs, value)
        return total

    def _field_cost(
        self,
        kind: str,
        fdef: GraphQLField,
        nodes: list[FieldNode],
        named: GraphQLNamedType,
        subs: list[SelectionSetNode],
        value: Any,
    ) -> int:
        static = value is _ABSENT
        if kind == "connection":
            if static:
                size = self._size(fdef, nodes[0], ("first", "last"))
                return 2 + size * self._connection_node_cost(named, subs, None)  # type: ignore[arg-type]
            return 2 + self._connection_node_cost(named, subs, value)  # type: ignore[arg-type]
        if kind == "list":
            if static:
                size = self._size(fdef, nodes[0], ("first", "ids", "names")) or 1
                return size * (1 + self._selection_cost(subs, named, _ABSENT))
            return sum(1 + self._selection_cost(subs, named, v) for v in value if v is not None)
        return 1 + self._selection_cost(subs, named, value)

    def _size(self, fdef: GraphQLField, node: FieldNode, names: tuple[str, ...]) -> int:
        try:
            args = get_argument_values(fdef, node, self.variables)
        except Exception:  # invalid args are reported by execution; cost them as empty
            return 0
        for name in names:
            value = args.get(name)
            if isinstance(value, int):
                return max(value, 0)
            if isinstance(value, list):
                return len(value)
        return 0

    def _connection_plan(self, conn_type: GraphQLObjectType, subs: list[SelectionSetNode]) -> list[tuple[Any, ...]]:
        """How a connection reaches its nodes: ("nodes", key, sets) or ("edges", key, node key, sets)."""
        cache_key = (tuple(map(id, subs)), conn_type.name, "connection")
        plan = self.plans.get(cache_key)
        if plan is not None:
            return plan  # type: ignore[no-any-return]
        edge_type = get_named_type(conn_type.fields["edges"].type)
        plan = []
        for key, fnodes in self._collect(subs, conn_type).items():
            name = fnodes[0].name.value
            inner = [n.selection_set for n in fnodes if n.selection_set is not None]
            if name == "nodes":
                plan.append(("nodes", key, None, inner))
            elif name == "edges":
                for ekey, enodes in self._collect(inner, edge_type).items():  # type: ignore[arg-type]
                    if enodes[0].name.value == "node":
                        plan.append(("edges", key, ekey, [n.selection_set for n in enodes if n.selection_set]))
        self.plans[cache_key] = plan
        return plan

    def _connection_node_cost(self, conn_type: GraphQLObjectType, subs: list[SelectionSetNode], value: Any) -> int:
        """Static: the cost of one node.  Actual: the summed cost of the returned nodes."""
        node_type = get_named_type(conn_type.fields["nodes"].type)
        best = 0
        for form, key, ekey, node_sets in self._connection_plan(conn_type, subs):
            if value is None:
                best = max(best, 1 + self._selection_cost(node_sets, node_type, _ABSENT))
            elif form == "nodes":
                items = value.get(key) or []
                best = max(best, sum(1 + self._selection_cost(node_sets, node_type, v) for v in items if v))
            else:
                edges = value.get(key) or []
                best = max(best, sum(1 + self._selection_cost(node_sets, node_type, e.get(ekey)) for e in edges if e))
        return best


class Buckets:
    """One leaky bucket per shop, refilled by monotonic wall-clock time."""

    def __init__(self) -> None:
        self._state: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _refill(self, shop: str, cfg: ShopifyThrottleConfig) -> list[float]:
        now = time.monotonic()
        maximum = float(cfg.maximum_available)
        state = self._state.get(shop)
        if state is None:
            state = [maximum, now]
            self._state[shop] = state
        available, last = state
        state[0] = min(maximum, available + max(0.0, now - last) * float(cfg.restore_rate))
        state[1] = now
        return state

    @staticmethod
    def _status(state: list[float], cfg: ShopifyThrottleConfig) -> dict[str, Any]:
        return {
            "maximumAvailable": float(cfg.maximum_available),
            "currentlyAvailable": int(state[0]),
            "restoreRate": float(cfg.restore_rate),
        }

    def take(self, shop: str, cfg: ShopifyThrottleConfig, cost: int) -> tuple[bool, dict[str, Any]]:
        """Deduct ``cost`` if the bucket holds that much; report the status either way."""
        with self._lock:
            state = self._refill(shop, cfg)
            if cost > state[0]:
                return False, self._status(state, cfg)
            state[0] -= cost
            return True, self._status(state, cfg)

    def give_back(self, shop: str, cfg: ShopifyThrottleConfig, points: int) -> dict[str, Any]:
        with self._lock:
            state = self._refill(shop, cfg)
            state[0] = min(float(cfg.maximum_available), state[0] + max(points, 0))
            return self._status(state, cfg)

    def status(self, shop: str, cfg: ShopifyThrottleConfig) -> dict[str, Any]:
        with self._lock:
            return self._status(self._refill(shop, cfg), cfg)
