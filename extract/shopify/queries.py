"""What is read from Shopify, described once and rendered as paged queries, follow-ups and bulk queries.

Each entity is a tree of ``Spec`` nodes: the root connection (``orders``) and the lists and
connections nested in it (``lineItems``, ``refunds { refundLineItems }`` ...). From that one
description this module derives:

* the paged query text and its **requested cost**, following Shopify's published rule: an object
  field costs 1 + its selection, a connection 2 + first x (1 + node selection), a plain list
  first x (1 + selection), scalars 0. Costs are computed here so ``first`` can be chosen as large
  as possible while a page stays within the single-query limit and the bucket;
* follow-up queries (``node(id:) { ... on Order { lineItems(after:) } }``) that complete a nested
  connection beyond its first page, so nothing is ever silently truncated;
* bulk-operation queries split into parts of at most 5 connections (Shopify's limit), and the
  (parent type, child type) -> field map used to nest JSONL children back under their parents.

``select`` strings hold only scalar and single-object fields: every ``{`` in them opens one object
(cost 1), except list-valued object fields, whose extra cost is declared in ``extra_cost``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property

from extract.shopify import settings as cfg

MONEY = "{ shopMoney { amount currencyCode } }"
PAGE_INFO = "pageInfo { hasNextPage endCursor }"


@dataclass(frozen=True)
class Spec:
    """One connection or plain list, what each node selects, and what is nested inside it."""

    field: str
    #: GraphQL type of one node; also the type named in its gid (``gid://shopify/<type>/<n>``)
    node_type: str
    select: str
    #: page size when nested in a paged query (for the root: computed per page instead)
    first: int = cfg.MAX_PAGE_SIZE
    children: tuple[Spec, ...] = ()
    #: a plain list (``Order.refunds``): no cursor; ``first`` truncates, so a full list is re-read
    plain: bool = False
    #: extra arguments of the field, e.g. ``includeInactive: true``
    args: str = ""
    #: cost of list-valued object fields in ``select`` beyond the 1 per ``{`` already counted
    extra_cost: int = 0

    def child(self, name: str) -> Spec:
        return next(c for c in self.children if c.field == name)


# --------------------------------------------------------------------------- entities

LINE_ITEMS = Spec(
    "lineItems",
    "LineItem",
    f"id sku quantity variant {{ id }} originalUnitPriceSet {MONEY} discountedTotalSet {MONEY}",
    first=cfg.ORDER_LINE_ITEMS,
)
FULFILLMENT_ORDERS = Spec(
    "fulfillmentOrders",
    "FulfillmentOrder",
    "id status assignedLocation { location { id } }",
    first=cfg.ORDER_FULFILLMENT_ORDERS,
    children=(
        Spec(
            "lineItems",
            "FulfillmentOrderLineItem",
            "id totalQuantity remainingQuantity lineItem { id sku }",
            first=cfg.FULFILLMENT_ORDER_LINE_ITEMS,
        ),
    ),
)
REFUNDS = Spec(
    "refunds",
    "Refund",
    f"id createdAt note totalRefundedSet {MONEY}",
    first=cfg.ORDER_REFUNDS,
    plain=True,
    children=(
        Spec(
            "refundLineItems",
            "RefundLineItem",
            f"id quantity restockType restocked location {{ id }} lineItem {{ id sku }} subtotalSet {MONEY}",
            first=cfg.REFUND_LINE_ITEMS,
        ),
        Spec(
            "refundShippingLines",
            "RefundShippingLine",
            f"id subtotalAmountSet {MONEY}",
            first=cfg.REFUND_SHIPPING_LINES,
        ),
        Spec(
            "transactions",
            "OrderTransaction",
            f"id kind status gateway processedAt amountSet {MONEY}",
            first=cfg.REFUND_TRANSACTIONS,
        ),
    ),
)
FULFILLMENTS = Spec(
    "fulfillments",
    "Fulfillment",
    "id status createdAt",
    first=cfg.ORDER_FULFILLMENTS,
    plain=True,
    children=(
        Spec(
            "trackingInfo", "FulfillmentTrackingInfo", "number company url", first=cfg.FULFILLMENT_TRACKING, plain=True
        ),
    ),
)
ORDER_TRANSACTIONS = Spec(
    "transactions",
    "OrderTransaction",
    f"id kind status gateway processedAt amountSet {MONEY}",
    first=cfg.ORDER_TRANSACTIONS,
    plain=True,
)
ORDERS = Spec(
    "orders",
    "Order",
    " ".join(
        [
            "id legacyResourceId name createdAt updatedAt processedAt closedAt cancelledAt cancelReason",
            "displayFinancialStatus displayFulfillmentStatus returnStatus sourceName sourceIdentifier",
            "customAttributes { key value } tags paymentGatewayNames test currencyCode",
            *(
                f"{name} {MONEY}"
                for name in (
                    "totalPriceSet",
                    "subtotalPriceSet",
                    "totalTaxSet",
                    "totalShippingPriceSet",
                    "totalDiscountsSet",
                    "totalRefundedSet",
                    "netPaymentSet",
                )
            ),
        ]
    ),
    children=(LINE_ITEMS, FULFILLMENT_ORDERS, REFUNDS, FULFILLMENTS, ORDER_TRANSACTIONS),
)
PRODUCTS = Spec(
    "products",
    "Product",
    "id legacyResourceId title descriptionHtml status vendor productType createdAt updatedAt "
    "mediaCount { count } "
    'tiktokTitle: metafield(namespace: "tiktok", key: "title") { value } '
    'packageDimensions: metafield(namespace: "tiktok", key: "package_dimensions") { value }',
    children=(
        Spec(
            "variants",
            "ProductVariant",
            "id legacyResourceId title sku barcode price updatedAt "
            "inventoryItem { id measurement { weight { value unit } } }",
            first=cfg.PRODUCT_VARIANTS,
        ),
    ),
)
LOCATIONS = Spec("locations", "Location", "id name isActive address { countryCode }", args="includeInactive: true")
_QUANTITY_NAMES = json.dumps(list(cfg.INVENTORY_QUANTITY_NAMES))
INVENTORY_LEVELS = Spec(
    "inventoryLevels",
    "InventoryLevel",
    f"id updatedAt item {{ id sku variant {{ id }} }} location {{ id }} "
    f"quantities(names: {_QUANTITY_NAMES}) {{ name quantity }}",
    # quantities(names:) is a list of len(names) objects: the one ``{`` counts 1 of them
    extra_cost=len(cfg.INVENTORY_QUANTITY_NAMES) - 1,
)


def location_levels_bulk(search: str | None) -> Spec:
    """Bulk reads inventory as levels nested in locations (outside bulk: paged per location)."""
    levels = replace(INVENTORY_LEVELS, args=f"query: {json.dumps(search)}" if search else "")
    return Spec("locations", "Location", "id", args="includeInactive: true", children=(levels,))


# --------------------------------------------------------------------------- costs


def node_cost(spec: Spec) -> int:
    """Requested cost of one node of ``spec``, nested connections and lists at their ``first``."""
    return 1 + spec.select.count("{") + spec.extra_cost + sum(field_cost(c) for c in spec.children)


def field_cost(spec: Spec) -> int:
    """Requested cost of a nested field: a connection adds 2 for itself, a plain list does not."""
    return (0 if spec.plain else 2) + spec.first * node_cost(spec)


def page_size(spec: Spec, budget: int, overhead: int = 0) -> int:
    """The largest ``first`` whose page costs at most ``budget`` (``overhead``: objects around the connection)."""
    return max(1, min(cfg.MAX_PAGE_SIZE, (budget - overhead - 2) // node_cost(spec)))


def page_cost(spec: Spec, first: int, overhead: int = 0) -> int:
    return overhead + 2 + first * node_cost(spec)


def fit(spec: Spec, budget: int, overhead: int = 0) -> Spec:
    """Shrink nested page sizes until one node fits ``budget`` (a small bucket, e.g. 200 points).

    The nested field with the largest cost is halved first, so the sizes that buy the least
    coverage per point go first. Anything the smaller sizes miss is completed by follow-ups.
    """
    while page_cost(spec, 1, overhead) > budget:
        nested = [(field_cost(c), i) for i, c in enumerate(spec.children)]
        if not nested:
            raise ValueError(f"one {spec.node_type} costs {page_cost(spec, 1, overhead)}, over the budget {budget}")
        _, i = max(nested)
        big = spec.children[i]
        smaller = replace(big, first=big.first // 2) if big.first > 1 else fit(big, node_cost(big) - 1)
        spec = replace(spec, children=(*spec.children[:i], smaller, *spec.children[i + 1 :]))
    return spec


def narrow(spec: Spec) -> Spec:
    """``spec`` with every nested connection at ``first: 1``: the cheapest node that still says,
    through ``pageInfo``, whether more follows. Used where the number of nodes matters more."""
    children = tuple(c if c.plain else replace(narrow(c), first=1) for c in spec.children)
    return replace(spec, children=children)


# --------------------------------------------------------------------------- rendering


def _args(*parts: str) -> str:
    kept = [p for p in parts if p]
    return f"({', '.join(kept)})" if kept else ""


def render_node(spec: Spec, *, bulk: bool = False) -> str:
    """The selection of one node: its fields, then each nested list or connection."""
    parts = [spec.select]
    for c in spec.children:
        inner = render_node(c, bulk=bulk)
        if bulk:  # bulk ignores first/after; connections are read through edges { node }
            body = f"{{ {inner} }}" if c.plain else f"{{ edges {{ node {{ {inner} }} }} }}"
            parts.append(f"{c.field}{_args(c.args)} {body}")
        elif c.plain:
            parts.append(f"{c.field}{_args(f'first: {c.first}', c.args)} {{ {inner} }}")
        else:
            parts.append(f"{c.field}{_args(f'first: {c.first}', c.args)} {{ {PAGE_INFO} nodes {{ {inner} }} }}")
    return " ".join(parts)


@dataclass(frozen=True)
class Listing:
    """A paged read: which connection, under which holder, with what node selection.

    ``kind`` is ``root`` (``orders(...)``), ``levels`` (``location(id:) { inventoryLevels }``) or
    ``followup`` (``node(id:) { ... on Holder { field(after:) } }``).
    """

    kind: str
    spec: Spec
    holder_type: str = ""
    search: bool = False

    @property
    def plain(self) -> bool:
        return self.spec.plain

    @property
    def overhead(self) -> int:
        """Cost of the object around the connection (``location``, ``node``)."""
        return 0 if self.kind == "root" else 1

    @property
    def path(self) -> tuple[str, ...]:
        return {"root": (), "levels": ("location",), "followup": ("node",)}[self.kind] + (self.spec.field,)

    @cached_property
    def text(self) -> str:
        spec = self.spec
        if spec.plain:
            params, args = "$id: ID!, $first: Int!", _args("first: $first", spec.args)
            return (
                f"query All({params}) {{ node(id: $id) {{ ... on {self.holder_type} {{ "
                f"{spec.field}{args} {{ {render_node(spec)} }} }} }} }}"
            )
        params = "$first: Int!, $after: String"
        parts = ["first: $first", "after: $after"]
        if self.search:
            params += ", $query: String"
            parts.append("query: $query" + (", sortKey: UPDATED_AT" if self.kind == "root" else ""))
        conn = f"{spec.field}{_args(*parts, spec.args)} {{ {PAGE_INFO} nodes {{ {render_node(spec)} }} }}"
        if self.kind == "root":
            return f"query Page({params}) {{ {conn} }}"
        if self.kind == "levels":
            return f"query Levels($id: ID!, {params}) {{ location(id: $id) {{ {conn} }} }}"
        return f"query More($id: ID!, {params}) {{ node(id: $id) {{ ... on {self.holder_type} {{ {conn} }} }} }}"

    def fitted(self, budget: int) -> Listing:
        """The same listing with nested sizes shrunk so one node fits ``budget``."""
        return replace(self, spec=fit(self.spec, budget, self.overhead))


def root_listing(spec: Spec, *, search: bool = True) -> Listing:
    """``orders(first:, after:, query:, sortKey: UPDATED_AT)``; ``search`` adds the updated_at filter."""
    return Listing("root", spec, search=search)


def location_levels_listing(spec: Spec = INVENTORY_LEVELS) -> Listing:
    """One location's inventory levels, filtered by ``updated_at`` (levels are paged per location)."""
    return Listing("levels", spec, search=True)


def followup_listing(holder_type: str, spec: Spec) -> Listing:
    """The rest of a nested connection (``after:``), or a whole plain list, of one object by id."""
    return Listing("followup", spec, holder_type=holder_type)


def ids_listing(listing: Listing) -> Listing:
    """The same page as ``listing`` with only ids: used to step past records the API cannot serve."""
    return replace(listing, spec=Spec(listing.spec.field, listing.spec.node_type, "id", args=listing.spec.args))


def node_query(spec: Spec) -> str:
    """One record by id, with the same selection as a page of ``spec`` (cost 1 + node_cost)."""
    return f"query One($id: ID!) {{ node(id: $id) {{ ... on {spec.node_type} {{ {render_node(spec)} }} }} }}"


def search_filter(start: object) -> str:
    """Shopify search syntax for "updated at or after ``start``" (second precision, UTC)."""
    return f"updated_at:>='{_iso(start)}'"


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


# --------------------------------------------------------------------------- bulk


def connection_count(spec: Spec) -> int:
    """Connections in a subtree (plain lists are inline in bulk output and do not count)."""
    return (0 if spec.plain else 1) + sum(connection_count(c) for c in spec.children)


def bulk_parts(spec: Spec) -> list[Spec]:
    """Split a root spec into bulk queries of at most ``BULK_MAX_CONNECTIONS`` connections each.

    The first part keeps the root's own fields; later parts select only ``id`` plus their nested
    fields and are merged into the first part's records by id. Subtrees are packed first-fit in
    declaration order. Orders need two parts (line items and fulfillment orders; refunds).
    """
    room = cfg.BULK_MAX_CONNECTIONS - 1
    groups: list[list[Spec]] = []
    for c in spec.children:
        n = connection_count(c)
        if n > room:
            raise ValueError(f"{spec.field}.{c.field} alone holds {n} connections, over the bulk limit")
        for g in groups:
            if sum(connection_count(x) for x in g) + n <= room:
                g.append(c)
                break
        else:
            groups.append([c])
    parts = [replace(spec, children=tuple(g), select=spec.select if i == 0 else "id") for i, g in enumerate(groups)]
    return parts or [spec]


def bulk_query(spec: Spec, search: str | None) -> str:
    """A bulk query for one part; ``search`` is embedded as a literal (bulk queries take no variables)."""
    _check_bulk_depth(spec, 0)
    args = _args(f"query: {json.dumps(search)}, sortKey: UPDATED_AT" if search else "", spec.args)
    return f"{{ {spec.field}{args} {{ edges {{ node {{ {render_node(spec, bulk=True)} }} }} }} }}"


def _check_bulk_depth(spec: Spec, depth: int) -> None:
    for c in spec.children:
        child_depth = depth if c.plain else depth + 1
        if child_depth > cfg.BULK_MAX_DEPTH:
            raise ValueError(f"{c.field} is nested {child_depth} connections deep; bulk allows {cfg.BULK_MAX_DEPTH}")
        if c.children and "id" not in c.select.split():
            raise ValueError(f"{c.field} holds nested fields but does not select id (bulk needs it for __parentId)")
        _check_bulk_depth(c, child_depth)


def child_fields(spec: Spec) -> dict[tuple[str, str], str]:
    """(holder type, child node type) -> connection field, for nesting JSONL children back."""
    out: dict[tuple[str, str], str] = {}
    for c in spec.children:
        if not c.plain:
            key = (spec.node_type, c.node_type)
            if key in out and out[key] != c.field:
                raise ValueError(f"{spec.node_type} has two connections of {c.node_type}: cannot place children")
            out[key] = c.field
        out.update(child_fields(c))
    return out
