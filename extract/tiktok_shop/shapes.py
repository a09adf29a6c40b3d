"""Turn TikTok API records into typed warehouse rows, or refuse them with the field that is wrong.

Each ``shape_*`` takes one record as the API sent it and returns its row plus its child rows
(per child table), or raises ``InvalidField`` naming the field, so the caller quarantines the
whole record and none of its children. Nothing is rounded or guessed: money stays ``Decimal``
(floats, exponent notation, NaN and excess decimals are refused), times become aware UTC
datetimes, strict enums are checked against settings' documented sets.

Columns keep the API's snake_case names. Nested money objects are flattened (``payment.sub_total``
-> ``payment_sub_total``, ``refund_amount.refund_total`` -> ``refund_total``,
``amount.value`` -> ``amount``); other nested values and fields this code does not know are passed
through unchanged (dlt stores nested ones as JSON), so a field TikTok adds is kept, not dropped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from extract.common import coerce
from extract.common.coerce import InvalidField
from extract.tiktok_shop import settings as s

Row = dict[str, Any]
Children = dict[str, list[Row]]

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PATH_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_PLAIN_DECIMAL = re.compile(r"^\d{1,12}(\.\d{1,12})?$")

ORDER_TIMES = ("create_time", "update_time")
ORDER_OPTIONAL_TIMES = (
    "paid_time",
    "rts_time",
    "rts_sla_time",
    "tts_sla_time",
    "collection_time",
    "delivery_time",
    "cancel_time",
    "request_cancel_time",
)
#: order.payment money fields (reference §Orders); ``total_amount`` is required
PAYMENT_MONEY = (
    "total_amount",
    "sub_total",
    "shipping_fee",
    "original_total_product_price",
    "seller_discount",
    "platform_discount",
    "original_shipping_fee",
    "shipping_fee_seller_discount",
    "shipping_fee_platform_discount",
    "shipping_fee_cofunded_discount",
    "tax",
    "product_tax",
    "shipping_fee_tax",
    "retail_delivery_fee",
    "buyer_service_fee",
    "handling_fee",
    "item_insurance_fee",
)
LINE_MONEY = ("original_price", "sale_price", "seller_discount", "platform_discount")
#: refund_amount money fields, by their column names (see ``refund_column``)
REFUND_MONEY = (
    "refund_total",
    "refund_subtotal",
    "refund_shipping_fee",
    "refund_tax",
    "refund_retail_delivery_fee",
    "refund_buyer_service_fee",
)
STATEMENT_MONEY = (
    "settlement_amount",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "shipping_cost_amount",
    "net_sales_amount",
)
#: statement transaction money fields documented for 202309; any other ``*_amount`` is money too
TRANSACTION_MONEY = (
    "settlement_amount",
    "revenue_amount",
    "fee_amount",
    "adjustment_amount",
    "shipping_fee_amount",
    "shipping_cost_amount",
    "customer_payment_amount",
    "customer_refund_amount",
    "customer_order_refund_amount",
    "gross_sales_amount",
    "gross_sales_refund_amount",
    "net_sales_amount",
    "after_seller_discounts_subtotal_amount",
    "seller_discount_amount",
    "seller_discount_refund_amount",
    "platform_discount_amount",
    "platform_discount_refund_amount",
    "platform_refund_subsidy_amount",
    "platform_commission_amount",
    "referral_fee_amount",
    "transaction_fee_amount",
    "refund_administration_fee_amount",
    "affiliate_commission_amount",
    "affiliate_partner_commission_amount",
    "affiliate_ads_commission_amount",
    "actual_shipping_fee_amount",
    "actual_return_shipping_fee_amount",
    "return_shipping_fee_amount",
    "platform_shipping_fee_discount_amount",
    "shipping_fee_subsidy_amount",
    "fbm_shipping_cost_amount",
    "fbt_shipping_cost_amount",
    "fbt_fulfillment_fee_amount",
    "customer_paid_shipping_fee_amount",
    "signature_confirmation_fee_amount",
    "sales_tax_amount",
    "sales_tax_payment_amount",
    "sales_tax_refund_amount",
    "retail_delivery_fee_amount",
)
#: payment money objects ``{value, currency}`` -> columns ``<name>`` and ``<name>_currency``
PAYMENT_AMOUNTS = ("amount", "settlement_amount", "reserve_amount", "payment_amount_before_exchange")


# --------------------------------------------------------------------------- field helpers


def _obj(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidField(field, f"expected an object, got {type(value).__name__}", value)
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidField(field, f"expected a list, got {type(value).__name__}", value)
    return value


def currency(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidField(field, f"not an ISO currency code: {str(value)[:20]!r}", value)
    return value


def _same_currency(value: Any, expected: str, field: str) -> str:
    """A child's currency must be its parent's: mixing them would add pounds to dollars."""
    if value in (None, ""):
        return expected
    got = currency(value, field)
    if got != expected:
        raise InvalidField(field, f"currency {got} differs from the record's currency {expected}", value)
    return got


def _required_text(value: Any, field: str) -> str:
    """A string that must say something: an empty SKU cannot be matched to the other platform."""
    text = coerce.text(value, field, nullable=False)
    if text is None or not text.strip():
        raise InvalidField(field, "value is empty", value)
    return text


def _ts(rec: Mapping[str, Any], name: str, where: str = "", *, nullable: bool = False) -> datetime | None:
    return coerce.timestamp_unix(rec.get(name), f"{where}{name}", nullable=nullable)


def path_id(value: Any, field: str) -> str:
    """An id that goes into a URL path (product, statement) must be a plain token."""
    text = coerce.identifier(value, field, max_len=128)
    if not _PATH_ID.match(text):
        raise InvalidField(field, f"id is not a plain token: {text[:40]!r}", value)
    return text


def _passthrough(rec: Mapping[str, Any], skip: Collection[str], where: str = "") -> Row:
    """Fields kept as sent, after one check: every integer in them must fit 64 bits.

    A larger one (an id sent as a number, a corrupted count) cannot be stored as BIGINT or JSON
    by the loader and would fail the whole load, so it quarantines its record instead; so does a
    string that is not valid Unicode.
    """
    row = {k: v for k, v in rec.items() if k not in skip}
    for key, value in row.items():
        _storable(value, f"{where}{key}")
    return row


def _storable(value: Any, field: str) -> None:
    """Integers within 64 bits and strings that are valid Unicode, however deep."""
    if isinstance(value, str):
        coerce.unicode_text(value, field)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not coerce.INT64_MIN <= value <= coerce.INT64_MAX:
            raise InvalidField(field, f"{str(value)[:40]} does not fit a 64-bit integer", value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _storable(v, f"{field}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _storable(v, f"{field}[{i}]")


def _unique(seen: dict[str, str], ident: str, field: str) -> str:
    """Two children with one id would merge into one row and lose the other without a trace."""
    if ident in seen:
        raise InvalidField(field, f"id {ident[:80]} repeats {seen[ident]} in the same record", ident)
    seen[ident] = field
    return ident


def refund_column(key: str) -> str:
    """``refund_amount.X`` -> column ``X`` when X starts with ``refund_``, else ``refund_X``.

    So ``refund_total`` stays ``refund_total`` and ``buyer_service_fee`` becomes ``refund_buyer_service_fee``.
    """
    return key if key.startswith("refund_") else f"refund_{key}"


def _refund_amount(value: Any, field: str, record_currency: str | None) -> tuple[Row, str | None]:
    """Flatten a refund_amount object; every field but ``currency`` is money.

    A line's currency must match its record's; a record with no refund yet may have no object.
    """
    obj = {} if value is None else _obj(value, field)
    raw = obj.get("currency")
    if record_currency is not None:
        cur: str | None = _same_currency(raw, record_currency, f"{field}.currency")
    else:
        cur = None if raw in (None, "") else currency(raw, f"{field}.currency")
    row: Row = {"refund_currency": cur, **dict.fromkeys(REFUND_MONEY)}
    for key, amount in obj.items():
        if key == "currency":
            continue
        if cur is None and amount not in (None, ""):
            raise InvalidField(f"{field}.currency", "an amount is given without a currency", raw)
        row[refund_column(key)] = coerce.money(amount, f"{field}.{key}", cur, nullable=True)
    return row, cur


# --------------------------------------------------------------------------- records


def shape_shop(rec: Mapping[str, Any], cid: str) -> Row:
    """A shop the token may act for; ``cipher`` is left out (it is credentials, not data)."""
    row = _passthrough(_obj(rec, "shop"), skip={"cipher"})
    row.update(connection_id=cid, id=coerce.identifier(rec.get("id"), "id"))
    return row


def shape_warehouse(rec: Mapping[str, Any], cid: str) -> Row:
    row = _passthrough(_obj(rec, "warehouse"), skip=())
    row.update(connection_id=cid, id=coerce.identifier(rec.get("id"), "id"))
    return row


def shape_order(rec: Mapping[str, Any], cid: str) -> tuple[Row, Children]:
    """An order and one ``order_line_items`` row per unit (TikTok has no quantity field)."""
    _obj(rec, "order")
    oid = coerce.identifier(rec.get("id"), "id")
    payment = _obj(rec.get("payment"), "payment")
    cur = currency(payment.get("currency"), "payment.currency")
    row = _passthrough(rec, skip={"payment", "line_items"})
    row.update(connection_id=cid, id=oid, status=coerce.enum(rec.get("status"), "status", s.ORDER_STATUSES))
    for name in ORDER_TIMES:
        row[name] = _ts(rec, name)
    for name in ORDER_OPTIONAL_TIMES:
        row[name] = _ts(rec, name, nullable=True)
    row["payment_currency"] = cur
    for key in PAYMENT_MONEY:
        row[f"payment_{key}"] = coerce.money(payment.get(key), f"payment.{key}", cur, nullable=key != "total_amount")
    for key, value in payment.items():
        if key != "currency" and key not in PAYMENT_MONEY:
            _storable(value, f"payment.{key}")
            row[f"payment_{key}"] = value
    lines = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(_list(rec.get("line_items"), "line_items")):
        where = f"line_items[{i}]."
        li = _obj(raw, f"line_items[{i}]")
        line = _passthrough(li, skip=(), where=where)
        line_cur = _same_currency(li.get("currency"), cur, f"{where}currency")
        line.update(
            connection_id=cid,
            id=_unique(seen, coerce.identifier(li.get("id"), f"{where}id"), f"{where}id"),
            order_id=oid,
            order_update_time=row["update_time"],
            sku_id=coerce.identifier(li.get("sku_id"), f"{where}sku_id"),
            seller_sku=_required_text(li.get("seller_sku"), f"{where}seller_sku"),
            currency=line_cur,
            display_status=coerce.enum(li.get("display_status"), f"{where}display_status", s.LINE_DISPLAY_STATUSES),
            package_status=coerce.enum(
                li.get("package_status"), f"{where}package_status", s.PACKAGE_STATUSES, nullable=True
            ),
            rts_time=_ts(li, "rts_time", where, nullable=True),
        )
        for key in LINE_MONEY:
            line[key] = coerce.money(li.get(key), f"{where}{key}", line_cur, nullable=key != "sale_price")
        lines.append(line)
    return row, {"order_line_items": lines}


def shape_product(rec: Mapping[str, Any], cid: str) -> tuple[Row, Children]:
    """A product (detail object) and its ``product_skus``; stock is left to the inventory snapshot."""
    _obj(rec, "product")
    pid = coerce.identifier(rec.get("id"), "id")
    row = _passthrough(rec, skip={"skus"})
    row.update(
        connection_id=cid,
        id=pid,
        status=coerce.enum(rec.get("status"), "status", s.PRODUCT_STATUSES),
        create_time=_ts(rec, "create_time"),
        update_time=_ts(rec, "update_time"),
    )
    skus = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(_list(rec.get("skus"), "skus")):
        where = f"skus[{i}]."
        sku = _obj(raw, f"skus[{i}]")
        price = _obj(sku.get("price") or {}, f"{where}price")
        cur = currency(price.get("currency"), f"{where}price.currency")
        out = _passthrough(sku, skip={"price", "inventory"}, where=where)
        out.update(
            connection_id=cid,
            id=_unique(seen, coerce.identifier(sku.get("id"), f"{where}id"), f"{where}id"),
            product_id=pid,
            product_update_time=row["update_time"],
            seller_sku=coerce.text(sku.get("seller_sku"), f"{where}seller_sku"),
            external_sku_id=coerce.text(
                None if sku.get("external_sku_id") is None else str(sku["external_sku_id"]), f"{where}external_sku_id"
            ),
            price_currency=cur,
            sale_price=coerce.money(price.get("sale_price"), f"{where}price.sale_price", cur),
            tax_exclusive_price=coerce.money(
                price.get("tax_exclusive_price"), f"{where}price.tax_exclusive_price", cur, nullable=True
            ),
        )
        skus.append(out)
    return row, {"product_skus": skus}


def shape_inventory(rec: Mapping[str, Any], cid: str) -> list[Row]:
    """One inventory search item (a product) -> one row per SKU x warehouse."""
    _obj(rec, "inventory")
    pid = coerce.identifier(rec.get("product_id"), "product_id")
    rows = []
    for i, raw in enumerate(_list(rec.get("skus"), "skus")):
        where = f"skus[{i}]."
        sku = _obj(raw, f"skus[{i}]")
        sku_id = coerce.identifier(sku.get("id"), f"{where}id")
        dist = sku.get("total_available_inventory_distribution") or {}
        dist = _obj(dist, f"{where}total_available_inventory_distribution")
        common = {
            "connection_id": cid,
            "product_id": pid,
            "sku_id": sku_id,
            "seller_sku": coerce.text(sku.get("seller_sku"), f"{where}seller_sku"),
            "sku_total_available_quantity": _qty(sku, "total_available_quantity", where, nullable=True),
            "sku_total_committed_quantity": _qty(sku, "total_committed_quantity", where, nullable=True),
            "sku_in_shop_quantity": _qty(
                _obj(dist.get("in_shop_inventory") or {}, f"{where}in_shop_inventory"),
                "quantity",
                f"{where}in_shop_inventory.",
                nullable=True,
            ),
            "sku_creator_reserved_quantity": _sum_qty(dist.get("creator_inventory"), f"{where}creator_inventory"),
            "sku_campaign_reserved_quantity": _sum_qty(dist.get("campaign_inventory"), f"{where}campaign_inventory"),
        }
        for j, wraw in enumerate(_list(sku.get("warehouse_inventory"), f"{where}warehouse_inventory")):
            wwhere = f"{where}warehouse_inventory[{j}]."
            wh = _obj(wraw, wwhere.rstrip("."))
            rows.append(
                {
                    **common,
                    "warehouse_id": coerce.identifier(wh.get("warehouse_id"), f"{wwhere}warehouse_id"),
                    "available_quantity": _qty(wh, "available_quantity", wwhere),
                    "committed_quantity": _qty(wh, "committed_quantity", wwhere, nullable=True),
                }
            )
    return rows


def _qty(rec: Mapping[str, Any], name: str, where: str, *, nullable: bool = False) -> int | None:
    return coerce.integer(rec.get(name), f"{where}{name}", minimum=0, nullable=nullable)


def _sum_qty(value: Any, field: str) -> int:
    return sum(
        _qty(_obj(x, f"{field}[{i}]"), "quantity", f"{field}[{i}].") or 0 for i, x in enumerate(_list(value, field))
    )


def _aftersale(
    rec: Mapping[str, Any],
    cid: str,
    *,
    id_field: str,
    type_field: str,
    types: Collection[str],
    status_field: str,
    statuses: Collection[str],
    lines_field: str,
    line_id_field: str,
    child_table: str,
) -> tuple[Row, Children]:
    _obj(rec, "record")
    rid = coerce.identifier(rec.get(id_field), id_field)
    refund, cur = _refund_amount(rec.get("refund_amount"), "refund_amount", None)
    row = _passthrough(rec, skip={"refund_amount", lines_field})
    row.update(
        connection_id=cid,
        order_id=coerce.identifier(rec.get("order_id"), "order_id"),
        create_time=_ts(rec, "create_time"),
        update_time=_ts(rec, "update_time"),
        role=coerce.enum(rec.get("role"), "role", s.AFTERSALE_ROLES, nullable=True),
        **{
            id_field: rid,
            type_field: coerce.enum(rec.get(type_field), type_field, types),
            status_field: coerce.enum(rec.get(status_field), status_field, statuses),
        },
        **refund,
    )
    lines = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(_list(rec.get(lines_field), lines_field)):
        where = f"{lines_field}[{i}]"
        li = _obj(raw, where)
        line_refund, _ = _refund_amount(li.get("refund_amount"), f"{where}.refund_amount", cur)
        line = _passthrough(li, skip={"refund_amount"}, where=f"{where}.")
        line.update(
            connection_id=cid,
            order_id=row["order_id"],
            **{f"{id_field.removesuffix('_id')}_update_time": row["update_time"]},
            order_line_item_id=coerce.identifier(li.get("order_line_item_id"), f"{where}.order_line_item_id"),
            sku_id=coerce.identifier(li.get("sku_id"), f"{where}.sku_id"),
            **{
                line_id_field: _unique(
                    seen,
                    coerce.identifier(li.get(line_id_field), f"{where}.{line_id_field}"),
                    f"{where}.{line_id_field}",
                ),
                id_field: rid,
            },
            **line_refund,
        )
        lines.append(line)
    return row, {child_table: lines}


def shape_return(rec: Mapping[str, Any], cid: str) -> tuple[Row, Children]:
    return _aftersale(
        rec,
        cid,
        id_field="return_id",
        type_field="return_type",
        types=s.RETURN_TYPES,
        status_field="return_status",
        statuses=s.RETURN_STATUSES,
        lines_field="return_line_items",
        line_id_field="return_line_item_id",
        child_table="return_line_items",
    )


def shape_cancellation(rec: Mapping[str, Any], cid: str) -> tuple[Row, Children]:
    return _aftersale(
        rec,
        cid,
        id_field="cancel_id",
        type_field="cancel_type",
        types=s.CANCEL_TYPES,
        status_field="cancel_status",
        statuses=s.CANCEL_STATUSES,
        lines_field="cancel_line_items",
        line_id_field="cancel_line_item_id",
        child_table="cancellation_line_items",
    )


def _amounts(rec: Mapping[str, Any], known: Collection[str], cur: str, row: Row) -> None:
    """Every documented amount (None when absent) and any other ``*_amount`` field, as money."""
    for key in known:
        row[key] = coerce.money(rec.get(key), key, cur, nullable=True)
    for key, value in rec.items():
        if key.endswith("_amount") and key not in known and not isinstance(value, Mapping | list):
            row[key] = coerce.money(value, key, cur, nullable=True)


def shape_statement(rec: Mapping[str, Any], cid: str) -> Row:
    _obj(rec, "statement")
    cur = currency(rec.get("currency"), "currency")
    row = _passthrough(rec, skip=())
    row.update(
        connection_id=cid,
        id=path_id(rec.get("id"), "id"),
        currency=cur,
        statement_time=_ts(rec, "statement_time"),
        payment_time=_ts(rec, "payment_time", nullable=True),
        payment_status=coerce.enum(rec.get("payment_status"), "payment_status", s.PAYMENT_STATUSES),
    )
    _amounts(rec, STATEMENT_MONEY, cur, row)
    return row


def shape_transaction(rec: Mapping[str, Any], cid: str, statement_id: str, statement_currency: str) -> Row:
    """A statement transaction; a ``type`` outside the documented list is kept and flagged, not refused."""
    _obj(rec, "statement_transaction")
    cur = _same_currency(rec.get("currency"), statement_currency, "currency")
    row = _passthrough(rec, skip=())
    tx_type = _required_text(rec.get("type"), "type")
    row.update(
        connection_id=cid,
        id=coerce.identifier(rec.get("id"), "id"),
        statement_id=statement_id,
        currency=cur,
        type=tx_type,
        is_documented_type=tx_type in s.TRANSACTION_TYPES,
        order_create_time=_ts(rec, "order_create_time", nullable=True),
    )
    _amounts(rec, TRANSACTION_MONEY, cur, row)
    return row


def shape_payment(rec: Mapping[str, Any], cid: str) -> Row:
    _obj(rec, "payment")
    row = _passthrough(rec, skip=PAYMENT_AMOUNTS)
    row.update(
        connection_id=cid,
        id=coerce.identifier(rec.get("id"), "id"),
        create_time=_ts(rec, "create_time"),
        paid_time=_ts(rec, "paid_time", nullable=True),
        status=coerce.enum(rec.get("status"), "status", s.PAYMENT_STATUSES),
        exchange_rate=_rate(rec.get("exchange_rate")),
    )
    for name in PAYMENT_AMOUNTS:
        obj = rec.get(name)
        if obj is None:
            row[name], row[f"{name}_currency"] = None, None
            continue
        obj = _obj(obj, name)
        cur = currency(obj.get("currency"), f"{name}.currency")
        row[name] = coerce.money(obj.get("value"), f"{name}.value", cur, nullable=name != "amount")
        row[f"{name}_currency"] = cur
    return row


def _rate(value: Any) -> str | None:
    """An exchange rate is a ratio, not money: kept as its exact decimal text once it is known to parse."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if isinstance(value, bool | float) or not _PLAIN_DECIMAL.match(text):
        raise InvalidField("exchange_rate", f"not a plain decimal string: {text[:40]!r}", value)
    return text


def shape_withdrawal(rec: Mapping[str, Any], cid: str) -> Row:
    _obj(rec, "withdrawal")
    cur = currency(rec.get("currency"), "currency")
    row = _passthrough(rec, skip=())
    row.update(
        connection_id=cid,
        id=coerce.identifier(rec.get("id"), "id"),
        type=coerce.enum(rec.get("type"), "type", s.WITHDRAWAL_TYPES),
        status=coerce.enum(rec.get("status"), "status", s.WITHDRAWAL_STATUSES),
        currency=cur,
        amount=coerce.money(rec.get("amount"), "amount", cur),
        create_time=_ts(rec, "create_time"),
    )
    return row
