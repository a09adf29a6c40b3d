"""Query resolvers: serve the stored records in Shopify's shape, filling documented defaults.

Stored records hold references as stubs (``{"id": ...}``); resolvers swap a stub for the full
record when the store knows it, so ``lineItem.variant { sku product { id } }`` works as on Shopify.
Money sets lacking ``presentmentMoney`` repeat ``shopMoney`` (single-currency shops), and money
fields a record omits are derived (e.g. ``currentTotalPriceSet``) or zero.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema

from sandbox.context import SandboxContext
from sandbox.shopify.store import ShopStore, gid, gid_type, legacy_id, num, paginate
from sandbox.state import ConnectionState

if TYPE_CHECKING:
    from sandbox.shopify.bulk import BulkManager

Record = dict[str, Any]

_ZERO_DECIMAL_CURRENCIES = {
    "JPY",
    "KRW",
    "VND",
    "CLP",
    "ISK",
    "UGX",
    "XAF",
    "XOF",
    "XPF",
    "PYG",
    "RWF",
    "KMF",
    "GNF",
    "BIF",
    "DJF",
    "VUV",
}


@dataclass
class RequestContext:
    """Everything a resolver needs for one GraphQL request against one shop."""

    sandbox: SandboxContext
    conn: ConnectionState
    store: ShopStore
    bulk_manager: BulkManager
    base_url: str
    bulk: bool = False
    search: list[Record] = field(default_factory=list)
    #: bulk runs resolve the top-level connection a window of rows at a time (bounded memory)
    bulk_window: tuple[int, int] | None = None
    #: rows of the largest top-level connection seen in this bulk pass
    bulk_total: int = 0
    #: a bulk run's top-level rows by (entity, sort key, query), shared by its windows
    bulk_snapshot: dict[Any, Any] | None = None

    @property
    def currency(self) -> str:
        return self.conn.manifest["shopify"]["currency"]


def ctx_of(info: GraphQLResolveInfo) -> RequestContext:
    return info.context  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- money helpers


def quantize(amount: Decimal, currency: str) -> Decimal:
    exp = Decimal("1") if currency in _ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return amount.quantize(exp, rounding=ROUND_HALF_UP)


def money_str(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def money_bag(amount: Decimal | str, currency: str) -> Record:
    value = amount if isinstance(amount, str) else money_str(amount, currency)
    return {"shopMoney": {"amount": value, "currencyCode": currency}}


def bag_amount(bag: Record | None) -> Decimal:
    if not bag:
        return Decimal("0")
    return Decimal(str((bag.get("shopMoney") or {}).get("amount") or "0"))


def _order_currency(ctx: RequestContext, order: Record) -> str:
    return order.get("currencyCode") or ctx.currency


def _money_field(name: str, default: Callable[[RequestContext, Record], Record] | None = None) -> Callable[..., Any]:
    def resolve(source: Record, info: GraphQLResolveInfo, **_: Any) -> Any:
        value = source.get(name)
        if value is None and default is not None:
            return default(ctx_of(info), source)
        return value

    return resolve


def _presentment(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("presentmentMoney") or source.get("shopMoney")


def _zero_order(ctx: RequestContext, order: Record) -> Record:
    return money_bag(Decimal("0"), _order_currency(ctx, order))


def _current_total(ctx: RequestContext, order: Record) -> Record:
    cur = _order_currency(ctx, order)
    return money_bag(bag_amount(order.get("totalPriceSet")) - bag_amount(order.get("totalRefundedSet")), cur)


def _paid(order: Record) -> bool:
    return order.get("displayFinancialStatus") in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED", "PARTIALLY_PAID")


def _received(ctx: RequestContext, order: Record) -> Record:
    cur = _order_currency(ctx, order)
    return money_bag(bag_amount(order.get("totalPriceSet")) if _paid(order) else Decimal("0"), cur)


def _outstanding(ctx: RequestContext, order: Record) -> Record:
    cur = _order_currency(ctx, order)
    if _paid(order) or order.get("cancelledAt"):
        return money_bag(Decimal("0"), cur)
    return money_bag(bag_amount(order.get("totalPriceSet")), cur)


def _net_payment(ctx: RequestContext, order: Record) -> Record:
    cur = _order_currency(ctx, order)
    received = bag_amount(_received(ctx, order))
    return money_bag(received - bag_amount(order.get("totalRefundedSet")), cur)


# --------------------------------------------------------------------------- generic helpers


def _legacy(source: Record, _info: GraphQLResolveInfo) -> str:
    return legacy_id(source)


def _default(name: str, value: Any) -> Callable[..., Any]:
    def resolve(source: Record, _info: GraphQLResolveInfo, **_: Any) -> Any:
        v = source.get(name)
        return value if v is None else v

    return resolve


def _first_n(items: list[Any], first: int | None, ctx: RequestContext) -> list[Any]:
    if first is None or ctx.bulk:
        return items
    if first < 0:
        raise GraphQLError("Argument 'first' must be a non-negative integer.")
    return items[:first]


def _conn_nodes(source: Record, name: str) -> list[Record]:
    return (source.get(name) or {}).get("nodes") or []


def _positional(name: str) -> Callable[..., Any]:
    """A nested connection stored as ``{"nodes": [...]}``: paged by position."""

    def resolve(source: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
        return paginate(_conn_nodes(source, name), args, ids=lambda n: num(n.get("id")), bulk=ctx_of(info).bulk)

    return resolve


def _ref(lookup: Callable[[ShopStore], dict[str, Record]], name: str) -> Callable[..., Any]:
    """Swap a stored ``{"id": ...}`` stub for the full record when the store knows it."""

    def resolve(source: Record, info: GraphQLResolveInfo, **_: Any) -> Any:
        stub = source.get(name)
        if not stub:
            return None
        return lookup(ctx_of(info).store).get(stub.get("id"), stub)

    return resolve


def _page_top(entity: str, sort_default: str = "ID") -> Callable[..., Any]:
    def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        ctx = ctx_of(info)
        sort_key = args.get("sortKey") or sort_default
        query = args.get("query")
        snap_key = (entity, sort_key, query, bool(args.get("reverse")))
        if ctx.bulk_snapshot is not None and snap_key in ctx.bulk_snapshot:
            rows, keys, warnings = ctx.bulk_snapshot[snap_key]
        else:
            rows, keys, warnings = ctx.store.view(entity, sort_key, query)
            if ctx.bulk_snapshot is not None:
                ctx.bulk_snapshot[snap_key] = (rows, keys, warnings)
        if warnings:
            ctx.search.append({"path": list(info.path.as_list()), "query": query, "warnings": warnings})
        if ctx.bulk and ctx.bulk_window is not None:
            n = len(rows)
            ctx.bulk_total = max(ctx.bulk_total, n)
            lo, hi = ctx.bulk_window
            if args.get("reverse"):  # windows walk the logical (reversed) order
                lo, hi = max(0, n - hi), max(0, n - lo)
            rows, keys = rows[lo:hi], keys[lo:hi]
        return paginate(rows, args, keys=keys, bulk=ctx.bulk)

    return resolve


def _page_levels(levels: list[Record], key_side: str, info: GraphQLResolveInfo, args: Record) -> Any:
    ctx = ctx_of(info)
    rows, warnings = ctx.store.filter_levels(levels, args.get("query"))
    if warnings:
        ctx.search.append({"path": list(info.path.as_list()), "query": args.get("query"), "warnings": warnings})
    keys = [(num(lv[key_side]["id"]), num(lv[key_side]["id"])) for lv in rows]
    return paginate(rows, args, keys=keys, bulk=ctx.bulk)


# --------------------------------------------------------------------------- root fields


def _shop(_root: Any, info: GraphQLResolveInfo) -> Record:
    ctx = ctx_of(info)
    manifest = ctx.conn.manifest["shopify"]
    domain = ctx.conn.shop_domain
    return {
        "id": gid("Shop", zlib.crc32(domain.encode()) % 10**10),
        "name": manifest.get("shop_name")
        or ctx.conn.manifest.get("tiktok_shop", {}).get("shop_name")
        or domain.split(".")[0],
        "email": manifest.get("email") or f"owner@{domain.split('.')[0]}.example",
        "currencyCode": manifest["currency"],
        "myshopifyDomain": domain,
        "ianaTimezone": manifest.get("iana_timezone", "UTC"),
        "url": f"https://{domain}",
    }


def resolve_node(ctx: RequestContext, ident: str) -> Any:
    type_name = gid_type(ident)
    if type_name is None:
        raise GraphQLError(f"Invalid global id '{ident}'")
    if type_name == "BulkOperation":
        return ctx.bulk_manager.poll(ctx, ident)
    if type_name == "Job":
        return ctx.bulk_manager.job(ident)
    if type_name == "Metafield":
        return _find_metafield(ctx, ident)
    _, obj = ctx.store.find(ident)
    return obj


def _node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002 - GraphQL argument name
    return resolve_node(ctx_of(info), id)


def _nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    ctx = ctx_of(info)
    return [resolve_node(ctx, i) for i in ids]


def _typed(type_name: str) -> Callable[..., Any]:
    def resolve(_root: Any, info: GraphQLResolveInfo, id: str | None = None, **_: Any) -> Any:  # noqa: A002
        if id is None:
            return None
        if gid_type(id) is None:
            raise GraphQLError(f"Invalid global id '{id}'")
        if gid_type(id) != type_name:
            return None
        return resolve_node(ctx_of(info), id)

    return resolve


def _location_root(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Any:  # noqa: A002
    ctx = ctx_of(info)
    if id is None:
        return ctx.store.locations[0] if ctx.store.locations else None
    return _typed("Location")(_root, info, id=id)


def _current_bulk(_root: Any, info: GraphQLResolveInfo, type: str = "QUERY") -> Any:  # noqa: A002
    ctx = ctx_of(info)
    return ctx.bulk_manager.current(ctx, type)


def _job(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    return ctx_of(info).bulk_manager.job(id)


def resolve_type(value: Any, _info: GraphQLResolveInfo, _abstract: Any) -> str | None:
    """Node's concrete type, read from the gid (records carry no ``__typename``)."""
    if isinstance(value, dict):
        if "__typename" in value:
            return value["__typename"]
        return gid_type(value.get("id"))
    return None


# --------------------------------------------------------------------------- orders


def _order_closed(source: Record, _info: GraphQLResolveInfo) -> bool:
    return bool(source.get("closedAt"))


def _order_processed(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("processedAt") or source.get("createdAt")


def _order_fully_paid(source: Record, _info: GraphQLResolveInfo) -> bool:
    return source.get("fullyPaid", _paid(source))


def _order_unpaid(source: Record, _info: GraphQLResolveInfo) -> bool:
    if "unpaid" in source:
        return bool(source["unpaid"])
    return source.get("displayFinancialStatus") in ("PENDING", "AUTHORIZED", "EXPIRED", "VOIDED")


def _order_currency_field(source: Record, info: GraphQLResolveInfo) -> str:
    return _order_currency(ctx_of(info), source)


def _order_presentment_currency(source: Record, info: GraphQLResolveInfo) -> str:
    return source.get("presentmentCurrencyCode") or _order_currency(ctx_of(info), source)


def _order_refunds(source: Record, info: GraphQLResolveInfo, first: int | None = None) -> list[Record]:
    return _first_n(source.get("refunds") or [], first, ctx_of(info))


def _order_fulfillments(source: Record, info: GraphQLResolveInfo, first: int | None = None) -> list[Record]:
    return _first_n(source.get("fulfillments") or [], first, ctx_of(info))


def _order_transactions(source: Record, info: GraphQLResolveInfo, first: int | None = None, **_: Any) -> list[Record]:
    return _first_n(source.get("transactions") or [], first, ctx_of(info))


def _order_fulfillment_orders(source: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
    nodes = _conn_nodes(source, "fulfillmentOrders")
    if args.get("query"):
        status = re.search(r"status:(\w+)", args["query"])
        if status:
            want = status.group(1).upper()
            nodes = [fo for fo in nodes if fo.get("status") == want]
    return paginate(nodes, args, ids=lambda n: num(n.get("id")), bulk=ctx_of(info).bulk)


# --------------------------------------------------------------------------- line items


def _li_variant(source: Record, info: GraphQLResolveInfo) -> Any:
    stub = source.get("variant")
    if not stub:
        return None
    return ctx_of(info).store.variant_by_id.get(stub.get("id"), stub)


def _li_product(source: Record, info: GraphQLResolveInfo) -> Any:
    store = ctx_of(info).store
    stub = source.get("product")
    if stub:
        return store.product_by_id.get(stub.get("id"), stub)
    variant = store.variant_by_id.get((source.get("variant") or {}).get("id"))
    return store.variant_product(variant) if variant else None


def _li_title(source: Record, info: GraphQLResolveInfo) -> str:
    if source.get("title"):
        return source["title"]
    product = _li_product(source, info)
    return (product or {}).get("title") or source.get("sku") or ""


def _li_name(source: Record, info: GraphQLResolveInfo) -> str:
    if source.get("name"):
        return source["name"]
    title = _li_title(source, info)
    variant = _li_variant(source, info) or {}
    vt = variant.get("title")
    return f"{title} - {vt}" if vt and vt != "Default Title" else title


def _li_unit(ctx: RequestContext, li: Record) -> Decimal:
    return bag_amount(li.get("originalUnitPriceSet"))


def _li_currency(ctx: RequestContext, li: Record) -> str:
    bag = li.get("originalUnitPriceSet") or li.get("discountedTotalSet") or {}
    return (bag.get("shopMoney") or {}).get("currencyCode") or ctx.currency


def _li_original_total(ctx: RequestContext, li: Record) -> Record:
    return money_bag(_li_unit(ctx, li) * int(li.get("quantity") or 0), _li_currency(ctx, li))


def _li_discounted_total(ctx: RequestContext, li: Record) -> Record:
    return _li_original_total(ctx, li)


def _li_discounted_unit(ctx: RequestContext, li: Record) -> Record:
    qty = int(li.get("quantity") or 0)
    cur = _li_currency(ctx, li)
    if li.get("discountedTotalSet") and qty:
        return money_bag(bag_amount(li["discountedTotalSet"]) / qty, cur)
    return money_bag(_li_unit(ctx, li), cur)


def _li_total_discount(ctx: RequestContext, li: Record) -> Record:
    cur = _li_currency(ctx, li)
    original = bag_amount(_li_original_total(ctx, li))
    discounted = bag_amount(li.get("discountedTotalSet")) if li.get("discountedTotalSet") else original
    return money_bag(original - discounted, cur)


def refunded_quantity(order: Record, line_item_id: str) -> int:
    total = 0
    for refund in order.get("refunds") or []:
        for rli in _conn_nodes(refund, "refundLineItems"):
            if (rli.get("lineItem") or {}).get("id") == line_item_id:
                total += int(rli.get("quantity") or 0)
    return total


def unfulfilled_quantity(order: Record, line_item_id: str) -> int:
    total = 0
    for fo in _conn_nodes(order, "fulfillmentOrders"):
        if fo.get("status") in ("CLOSED", "CANCELLED"):
            continue
        for foli in _conn_nodes(fo, "lineItems"):
            if (foli.get("lineItem") or {}).get("id") == line_item_id:
                total += int(foli.get("remainingQuantity") or 0)
    return total


def _li_current_quantity(source: Record, info: GraphQLResolveInfo) -> int:
    if "currentQuantity" in source:
        return int(source["currentQuantity"])
    order = ctx_of(info).store.order_of("LineItem", source["id"])
    qty = int(source.get("quantity") or 0)
    return qty - refunded_quantity(order, source["id"]) if order else qty


def _li_unfulfilled(source: Record, info: GraphQLResolveInfo) -> int:
    if "unfulfilledQuantity" in source:
        return int(source["unfulfilledQuantity"])
    order = ctx_of(info).store.order_of("LineItem", source["id"])
    return unfulfilled_quantity(order, source["id"]) if order else 0


def _li_ref(source: Record, info: GraphQLResolveInfo) -> Any:
    """A stored ``lineItem`` stub ({id, sku}) widened to the order's full line item."""
    stub = source.get("lineItem") or {}
    hit = ctx_of(info).store.children["LineItem"].get(stub.get("id"))
    return hit[1] if hit else stub


# --------------------------------------------------------------------------- refunds, fulfillments, transactions


def _refund_order(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.order_of("Refund", source["id"])


def _fulfillment_order_of(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.order_of("Fulfillment", source["id"])


def _fo_order(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.order_of("FulfillmentOrder", source["id"])


def _fo_order_id(source: Record, info: GraphQLResolveInfo) -> Any:
    order = _fo_order(source, info)
    return order["id"] if order else None


def _fo_created(source: Record, info: GraphQLResolveInfo) -> Any:
    if source.get("createdAt"):
        return source["createdAt"]
    order = _fo_order(source, info) or {}
    return order.get("createdAt")


def _fo_updated(source: Record, info: GraphQLResolveInfo) -> Any:
    if source.get("updatedAt"):
        return source["updatedAt"]
    order = _fo_order(source, info) or {}
    return order.get("updatedAt")


def _assigned_location(source: Record, info: GraphQLResolveInfo) -> Record:
    assigned = dict(source.get("assignedLocation") or {})
    loc = ctx_of(info).store.location_by_id.get((assigned.get("location") or {}).get("id"))
    if loc is not None:
        assigned["location"] = loc
        assigned.setdefault("name", loc.get("name"))
        assigned.setdefault("countryCode", (loc.get("address") or {}).get("countryCode"))
    return assigned


def _foli_sku(source: Record, info: GraphQLResolveInfo) -> Any:
    return source.get("sku") or (source.get("lineItem") or {}).get("sku")


def _foli_variant(source: Record, info: GraphQLResolveInfo) -> Any:
    li = _li_ref(source, info)
    return _li_variant(li, info) if li else None


def _foli_item_id(source: Record, info: GraphQLResolveInfo) -> Any:
    variant = _foli_variant(source, info)
    return ((variant or {}).get("inventoryItem") or {}).get("id")


def _tracking(source: Record, info: GraphQLResolveInfo, first: int | None = None) -> list[Record]:
    return _first_n(source.get("trackingInfo") or [], first, ctx_of(info))


def _fulfillment_name(source: Record, info: GraphQLResolveInfo) -> str:
    if source.get("name"):
        return source["name"]
    order = _fulfillment_order_of(source, info) or {}
    fulfillments = order.get("fulfillments") or []
    index = next((i for i, f in enumerate(fulfillments, start=1) if f is source), 1)
    return f"{order.get('name', '')}-F{index}"


def _tx_amount(source: Record, info: GraphQLResolveInfo) -> Any:
    return source.get("amountSet") or money_bag(Decimal("0"), ctx_of(info).currency)


def _tx_created(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("createdAt") or source.get("processedAt")


def _tx_parent(source: Record, info: GraphQLResolveInfo) -> Any:
    parent = source.get("parentTransaction")
    if not parent:
        return None
    hit = ctx_of(info).store.children["OrderTransaction"].get(parent.get("id"))
    return hit[1] if hit else parent


def _rli_id(source: Record, _info: GraphQLResolveInfo) -> str:
    if source.get("id"):
        return source["id"]
    li_id = (source.get("lineItem") or {}).get("id", "")
    return gid("RefundLineItem", num(li_id))


def _rli_restocked(source: Record, _info: GraphQLResolveInfo) -> bool:
    if "restocked" in source:
        return bool(source["restocked"])
    return source.get("restockType") in ("RETURN", "CANCEL", "LEGACY_RESTOCK")


def _rli_price(source: Record, info: GraphQLResolveInfo) -> Any:
    if source.get("priceSet"):
        return source["priceSet"]
    qty = int(source.get("quantity") or 0) or 1
    bag = source.get("subtotalSet")
    cur = ((bag or {}).get("shopMoney") or {}).get("currencyCode") or ctx_of(info).currency
    return money_bag(bag_amount(bag) / qty, cur)


def _refund_total(source: Record, info: GraphQLResolveInfo) -> Any:
    if source.get("totalRefundedSet"):
        return source["totalRefundedSet"]
    total = sum((bag_amount(t.get("amountSet")) for t in _conn_nodes(source, "transactions")), Decimal("0"))
    return money_bag(total, ctx_of(info).currency)


def _refund_updated(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("updatedAt") or source.get("createdAt")


# --------------------------------------------------------------------------- products and variants


def _handle(source: Record, _info: GraphQLResolveInfo) -> str:
    if source.get("handle"):
        return source["handle"]
    return re.sub(r"[^a-z0-9]+", "-", (source.get("title") or "").lower()).strip("-")


def _media_count(source: Record, _info: GraphQLResolveInfo) -> Record:
    return source.get("mediaCount") or {"count": len(_conn_nodes(source, "images")), "precision": "EXACT"}


def _variants_count(source: Record, _info: GraphQLResolveInfo) -> Record:
    return source.get("variantsCount") or {"count": len(_conn_nodes(source, "variants")), "precision": "EXACT"}


def _total_inventory(source: Record, info: GraphQLResolveInfo) -> int:
    if "totalInventory" in source:
        return int(source["totalInventory"])
    return ctx_of(info).store.product_inventory(source)


def _metafield_view(owner: Record, mf: Record) -> Record:
    """Fill a stored metafield's id/type/timestamps (Shopify always has them)."""
    out = dict(mf)
    if not out.get("id"):
        digest = zlib.crc32(f"{owner.get('id')}|{mf.get('namespace')}|{mf.get('key')}".encode())
        out["id"] = gid("Metafield", digest)
    out.setdefault("type", "single_line_text_field")
    out.setdefault("createdAt", owner.get("createdAt"))
    out.setdefault("updatedAt", owner.get("updatedAt"))
    return out


def _find_metafield(ctx: RequestContext, ident: str) -> Record | None:
    for product in ctx.store.products:
        for mf in _conn_nodes(product, "metafields"):
            view = _metafield_view(product, mf)
            if view["id"] == ident:
                return view
    return None


def _metafield(source: Record, _info: GraphQLResolveInfo, key: str, namespace: str | None = None) -> Any:
    if namespace is None and "." in key:
        namespace, key = key.split(".", 1)
    for mf in _conn_nodes(source, "metafields"):
        if mf.get("key") == key and (namespace is None or mf.get("namespace") == namespace):
            return _metafield_view(source, mf)
    return None


def _metafields(source: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
    rows = [_metafield_view(source, mf) for mf in _conn_nodes(source, "metafields")]
    if args.get("namespace"):
        rows = [m for m in rows if m.get("namespace") == args["namespace"]]
    if args.get("keys"):
        wanted = set(args["keys"])
        rows = [m for m in rows if f"{m.get('namespace')}.{m.get('key')}" in wanted]
    return paginate(rows, args, ids=lambda n: num(n.get("id")), bulk=ctx_of(info).bulk)


def _variant_product(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.variant_product(source)


def _variant_title(source: Record, _info: GraphQLResolveInfo) -> str:
    return source.get("title") or "Default Title"


def _variant_display(source: Record, info: GraphQLResolveInfo) -> str:
    return source.get("displayName") or ctx_of(info).store.variant_display_name(source)


def _variant_position(source: Record, info: GraphQLResolveInfo) -> int:
    return ctx_of(info).store.variant_position(source)


def _variant_created(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.variant_created_at(source)


def _variant_updated(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.variant_updated_at(source)


def _variant_inventory_qty(source: Record, info: GraphQLResolveInfo) -> int:
    if "inventoryQuantity" in source:
        return int(source["inventoryQuantity"])
    return ctx_of(info).store.variant_inventory(source)


def _variant_item(source: Record, info: GraphQLResolveInfo) -> Any:
    item = source.get("inventoryItem")
    if item:
        return ctx_of(info).store.item_by_id.get(item.get("id"), item)
    return {"id": gid("InventoryItem", num(source.get("id"))), "tracked": False}


# --------------------------------------------------------------------------- inventory


def _item_sku(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.item_sku(source)


def _item_variant(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.item_variant(source)


def _item_created(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.item_created_at(source)


def _item_updated(source: Record, info: GraphQLResolveInfo) -> Any:
    return ctx_of(info).store.item_updated_at(source)


def _item_measurement(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("measurement") or {"weight": None}


def _item_levels(source: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
    levels = ctx_of(info).store.levels_by_item.get(source.get("id"), [])
    return _page_levels(levels, "location", info, args)


def _item_level(source: Record, info: GraphQLResolveInfo, locationId: str) -> Any:  # noqa: N803
    return ctx_of(info).store.level_by_pair.get((source.get("id"), locationId))


def _location_levels(source: Record, info: GraphQLResolveInfo, **args: Any) -> Any:
    levels = ctx_of(info).store.levels_by_location.get(source.get("id"), [])
    return _page_levels(levels, "item", info, args)


def _location_level(source: Record, info: GraphQLResolveInfo, inventoryItemId: str) -> Any:  # noqa: N803
    return ctx_of(info).store.level_by_pair.get((inventoryItemId, source.get("id")))


def _location_address(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("address") or {}


def _level_item(source: Record, info: GraphQLResolveInfo) -> Any:
    stub = source.get("item") or {}
    return ctx_of(info).store.item_by_id.get(stub.get("id"), stub)


def _level_location(source: Record, info: GraphQLResolveInfo) -> Any:
    stub = source.get("location") or {}
    return ctx_of(info).store.location_by_id.get(stub.get("id"), stub)


def _level_quantities(source: Record, _info: GraphQLResolveInfo, names: list[str]) -> list[Record]:
    stored = {q.get("name"): q for q in source.get("quantities") or []}
    out = []
    for name in names:
        q = stored.get(name)
        out.append(
            {
                "name": name,
                "quantity": int(q.get("quantity") or 0) if q else 0,
                "updatedAt": (q or {}).get("updatedAt") or source.get("updatedAt"),
            }
        )
    return out


def _level_created(source: Record, _info: GraphQLResolveInfo) -> Any:
    return source.get("createdAt") or source.get("updatedAt")


def _change_item(source: Record, info: GraphQLResolveInfo) -> Any:
    return _level_item(source, info)


def _adjustment_changes(
    source: Record,
    _info: GraphQLResolveInfo,
    inventoryItemIds: list[str] | None = None,  # noqa: N803
    locationIds: list[str] | None = None,  # noqa: N803
    quantityNames: list[str] | None = None,  # noqa: N803
) -> list[Record]:
    out = []
    for change in source.get("changes") or []:
        if inventoryItemIds and change["item"]["id"] not in inventoryItemIds:
            continue
        if locationIds and change["location"]["id"] not in locationIds:
            continue
        if quantityNames and change["name"] not in quantityNames:
            continue
        out.append(change)
    return out


# --------------------------------------------------------------------------- binding


def _money_default_zero(name: str) -> Callable[..., Any]:
    return _money_field(name, _zero_order)


RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("QueryRoot", "shop"): _shop,
    ("QueryRoot", "node"): _node,
    ("QueryRoot", "nodes"): _nodes,
    ("QueryRoot", "job"): _job,
    ("QueryRoot", "order"): _typed("Order"),
    ("QueryRoot", "orders"): _page_top("orders", "PROCESSED_AT"),
    ("QueryRoot", "product"): _typed("Product"),
    ("QueryRoot", "products"): _page_top("products"),
    ("QueryRoot", "productVariant"): _typed("ProductVariant"),
    ("QueryRoot", "productVariants"): _page_top("variants"),
    ("QueryRoot", "location"): _location_root,
    ("QueryRoot", "locations"): _page_top("locations", "NAME"),
    ("QueryRoot", "inventoryItem"): _typed("InventoryItem"),
    ("QueryRoot", "inventoryItems"): _page_top("inventory_items"),
    ("QueryRoot", "inventoryLevel"): _typed("InventoryLevel"),
    ("QueryRoot", "fulfillmentOrder"): _typed("FulfillmentOrder"),
    ("QueryRoot", "currentBulkOperation"): _current_bulk,
    ("MoneyBag", "presentmentMoney"): _presentment,
    # Order
    ("Order", "legacyResourceId"): _legacy,
    ("Order", "processedAt"): _order_processed,
    ("Order", "closed"): _order_closed,
    ("Order", "displayFulfillmentStatus"): _default("displayFulfillmentStatus", "UNFULFILLED"),
    ("Order", "returnStatus"): _default("returnStatus", "NO_RETURN"),
    ("Order", "paymentGatewayNames"): _default("paymentGatewayNames", []),
    ("Order", "test"): _default("test", False),
    ("Order", "fullyPaid"): _order_fully_paid,
    ("Order", "unpaid"): _order_unpaid,
    ("Order", "currencyCode"): _order_currency_field,
    ("Order", "presentmentCurrencyCode"): _order_presentment_currency,
    ("Order", "totalPriceSet"): _money_default_zero("totalPriceSet"),
    ("Order", "totalShippingPriceSet"): _money_default_zero("totalShippingPriceSet"),
    ("Order", "totalRefundedSet"): _money_default_zero("totalRefundedSet"),
    ("Order", "totalRefundedShippingSet"): _money_default_zero("totalRefundedShippingSet"),
    ("Order", "netPaymentSet"): _money_field("netPaymentSet", _net_payment),
    ("Order", "currentTotalPriceSet"): _money_field("currentTotalPriceSet", _current_total),
    ("Order", "totalReceivedSet"): _money_field("totalReceivedSet", _received),
    ("Order", "totalOutstandingSet"): _money_field("totalOutstandingSet", _outstanding),
    ("Order", "lineItems"): _positional("lineItems"),
    ("Order", "refunds"): _order_refunds,
    ("Order", "fulfillments"): _order_fulfillments,
    ("Order", "fulfillmentOrders"): _order_fulfillment_orders,
    ("Order", "transactions"): _order_transactions,
    # LineItem
    ("LineItem", "name"): _li_name,
    ("LineItem", "title"): _li_title,
    ("LineItem", "variant"): _li_variant,
    ("LineItem", "product"): _li_product,
    ("LineItem", "currentQuantity"): _li_current_quantity,
    ("LineItem", "unfulfilledQuantity"): _li_unfulfilled,
    ("LineItem", "customAttributes"): _default("customAttributes", []),
    ("LineItem", "originalUnitPriceSet"): _money_field(
        "originalUnitPriceSet", lambda c, li: money_bag(Decimal("0"), c.currency)
    ),
    ("LineItem", "originalTotalSet"): _money_field("originalTotalSet", _li_original_total),
    ("LineItem", "discountedUnitPriceSet"): _money_field("discountedUnitPriceSet", _li_discounted_unit),
    ("LineItem", "discountedTotalSet"): _money_field("discountedTotalSet", _li_discounted_total),
    ("LineItem", "totalDiscountSet"): _money_field("totalDiscountSet", _li_total_discount),
    # transactions / refunds
    ("OrderTransaction", "amountSet"): _tx_amount,
    ("OrderTransaction", "createdAt"): _tx_created,
    ("OrderTransaction", "test"): _default("test", False),
    ("OrderTransaction", "parentTransaction"): _tx_parent,
    ("Refund", "legacyResourceId"): _legacy,
    ("Refund", "updatedAt"): _refund_updated,
    ("Refund", "order"): _refund_order,
    ("Refund", "totalRefundedSet"): _refund_total,
    ("Refund", "refundLineItems"): _positional("refundLineItems"),
    ("Refund", "refundShippingLines"): _positional("refundShippingLines"),
    ("RefundShippingLine", "taxAmountSet"): _money_field(
        "taxAmountSet", lambda c, r: money_bag(Decimal("0"), c.currency)
    ),
    ("Refund", "transactions"): _positional("transactions"),
    ("RefundLineItem", "id"): _rli_id,
    ("RefundLineItem", "restocked"): _rli_restocked,
    ("RefundLineItem", "restockType"): _default("restockType", "NO_RESTOCK"),
    ("RefundLineItem", "location"): _ref(lambda s: s.location_by_id, "location"),
    ("RefundLineItem", "lineItem"): _li_ref,
    ("RefundLineItem", "priceSet"): _rli_price,
    ("RefundLineItem", "subtotalSet"): _money_field("subtotalSet", lambda c, r: money_bag(Decimal("0"), c.currency)),
    ("RefundLineItem", "totalTaxSet"): _money_field("totalTaxSet", lambda c, r: money_bag(Decimal("0"), c.currency)),
    # fulfillments
    ("Fulfillment", "legacyResourceId"): _legacy,
    ("Fulfillment", "name"): _fulfillment_name,
    ("Fulfillment", "updatedAt"): lambda s, _i: s.get("updatedAt") or s.get("createdAt"),
    ("Fulfillment", "location"): _ref(lambda s: s.location_by_id, "location"),
    ("Fulfillment", "order"): _fulfillment_order_of,
    ("Fulfillment", "trackingInfo"): _tracking,
    ("Fulfillment", "fulfillmentLineItems"): _positional("fulfillmentLineItems"),
    ("FulfillmentLineItem", "lineItem"): _li_ref,
    ("FulfillmentOrder", "createdAt"): _fo_created,
    ("FulfillmentOrder", "updatedAt"): _fo_updated,
    ("FulfillmentOrder", "order"): _fo_order,
    ("FulfillmentOrder", "orderId"): _fo_order_id,
    ("FulfillmentOrder", "assignedLocation"): _assigned_location,
    ("FulfillmentOrder", "lineItems"): _positional("lineItems"),
    ("FulfillmentOrderLineItem", "lineItem"): _li_ref,
    ("FulfillmentOrderLineItem", "sku"): _foli_sku,
    ("FulfillmentOrderLineItem", "variant"): _foli_variant,
    ("FulfillmentOrderLineItem", "inventoryItemId"): _foli_item_id,
    # products
    ("Product", "legacyResourceId"): _legacy,
    ("Product", "handle"): _handle,
    ("Product", "descriptionHtml"): _default("descriptionHtml", ""),
    ("Product", "vendor"): _default("vendor", ""),
    ("Product", "productType"): _default("productType", ""),
    ("Product", "tags"): _default("tags", []),
    ("Product", "totalInventory"): _total_inventory,
    ("Product", "mediaCount"): _media_count,
    ("Product", "variantsCount"): _variants_count,
    ("Product", "images"): _positional("images"),
    ("Product", "metafield"): _metafield,
    ("Product", "metafields"): _metafields,
    ("Product", "variants"): _positional("variants"),
    ("ProductVariant", "legacyResourceId"): _legacy,
    ("ProductVariant", "title"): _variant_title,
    ("ProductVariant", "displayName"): _variant_display,
    ("ProductVariant", "position"): _variant_position,
    ("ProductVariant", "price"): _default("price", "0.00"),
    ("ProductVariant", "createdAt"): _variant_created,
    ("ProductVariant", "updatedAt"): _variant_updated,
    ("ProductVariant", "inventoryQuantity"): _variant_inventory_qty,
    ("ProductVariant", "inventoryItem"): _variant_item,
    ("ProductVariant", "product"): _variant_product,
    # inventory
    ("InventoryItem", "legacyResourceId"): _legacy,
    ("InventoryItem", "sku"): _item_sku,
    ("InventoryItem", "tracked"): _default("tracked", True),
    ("InventoryItem", "requiresShipping"): _default("requiresShipping", True),
    ("InventoryItem", "createdAt"): _item_created,
    ("InventoryItem", "updatedAt"): _item_updated,
    ("InventoryItem", "measurement"): _item_measurement,
    ("InventoryItem", "variant"): _item_variant,
    ("InventoryItem", "inventoryLevels"): _item_levels,
    ("InventoryItem", "inventoryLevel"): _item_level,
    ("InventoryLevel", "createdAt"): _level_created,
    ("InventoryLevel", "item"): _level_item,
    ("InventoryLevel", "location"): _level_location,
    ("InventoryLevel", "quantities"): _level_quantities,
    ("Location", "legacyResourceId"): _legacy,
    ("Location", "isActive"): _default("isActive", True),
    ("Location", "fulfillsOnlineOrders"): _default("fulfillsOnlineOrders", True),
    ("Location", "address"): _location_address,
    ("Location", "inventoryLevels"): _location_levels,
    ("Location", "inventoryLevel"): _location_level,
    ("InventoryChange", "item"): _change_item,
    ("InventoryChange", "location"): _level_location,
    ("InventoryAdjustmentGroup", "changes"): _adjustment_changes,
}


def bind(schema: GraphQLSchema, extra: dict[tuple[str, str], Callable[..., Any]]) -> None:
    """Attach resolvers to the SDL-built schema (graphql-core leaves them unset)."""
    for (type_name, field_name), fn in {**RESOLVERS, **extra}.items():
        gql_type = schema.get_type(type_name)
        if gql_type is None or field_name not in gql_type.fields:  # type: ignore[union-attr]
            raise KeyError(f"schema has no field {type_name}.{field_name}")
        gql_type.fields[field_name].resolve = fn  # type: ignore[union-attr]
    node = schema.get_type("Node")
    node.resolve_type = resolve_type  # type: ignore[union-attr]
