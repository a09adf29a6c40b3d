"""Batches of typed rows as Arrow tables, so dlt writes them as parquet and skips row-by-row normalizing.

Why: dlt normalizes Python dicts one value at a time (type inference, name normalization, a
JSON round trip through its intermediate files): the profile of a 10k + 10k extraction put
that at about half of extraction's CPU. The rows here are already typed by ``extract.*.rows``
and ``extract.tiktok_shop.shapes`` and every column is declared, so the declared types give the
Arrow schema directly and dlt imports the batch as is (``_dlt_load_id`` and ``_dlt_id`` are
still added, see ``extract.pipeline.tune_dlt``): same tables, same columns, same types.

The conversion is a pipe step (``ArrowBatches``) placed after the resource's incremental step:
dlt's Arrow incremental needs the cursor column in every table, and a resource's child-table
batches (line items of orders) carry none, so the cursor is tracked on dicts and the batch
becomes Arrow right after.

A batch that does not fit its declared types (a value of another type that the typing step let
through) is handed to dlt as dicts instead, the way every batch used to go, so dlt's own
variant-column rules apply to it and nothing is lost; ``to_arrow`` returns None for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
from dlt.common.json import json as dlt_json
from dlt.extract.hints import HintsMeta
from dlt.extract.items import DataItemWithMeta
from dlt.extract.items_transform import ItemTransform

log = logging.getLogger("extract.arrow")

_UTC_MICROS = pa.timestamp("us", tz="UTC")


def arrow_type(hint: dict[str, Any]) -> pa.DataType | None:
    """The Arrow type of a dlt column hint; None where there is no unambiguous one."""
    kind = hint.get("data_type")
    if kind == "text":
        return pa.string()
    if kind == "bigint":
        return pa.int64()
    if kind == "bool":
        return pa.bool_()
    if kind == "double":
        return pa.float64()
    if kind == "decimal" and "precision" in hint and "scale" in hint:
        return pa.decimal128(int(hint["precision"]), int(hint["scale"]))
    if kind == "timestamp" and hint.get("timezone", True) and hint.get("precision") in (None, 6):
        return _UTC_MICROS
    return None


def arrow_schema(columns: dict[str, dict[str, Any]], not_null: Iterable[str] = ()) -> pa.Schema | None:
    """The schema of a table whose every column has a plain type; None otherwise.

    Key columns (``not_null``, and any hinted ``nullable: False``) are declared not null, as dlt
    declares them, so dlt does not warn about the two schemas disagreeing on every batch."""
    required = set(not_null)
    fields = []
    for name, hint in columns.items():
        typ = arrow_type(hint)
        if typ is None:
            return None
        fields.append(pa.field(name, typ, nullable=name not in required and hint.get("nullable") is not False))
    return pa.schema(fields)


def _undeclared_column(name: str, rows: list[dict[str, Any]]) -> tuple[pa.Array | None, dict[str, Any] | None] | None:
    """An undeclared (passed-through) column typed the way dlt types such values in dicts.

    Returns (array, hint): (None, None) for a column that is null in every row (dlt creates no
    column for those either), a JSON-text array with a ``json`` hint for objects and lists
    (serialized with dlt's own ``json.dumps``, as dlt's parquet writer does), or None when the
    values are of mixed or unexpected types: the batch then goes to dlt as dicts.
    """
    values = [row.get(name) for row in rows]
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None, None
    if kinds <= {dict, list}:
        return pa.array([None if v is None else dlt_json.dumps(v) for v in values], pa.string()), {"data_type": "json"}
    if len(kinds) > 1:
        return None
    kind = kinds.pop()
    typ = _PLAIN.get(kind)
    if typ is None:
        return None
    return pa.array(values, typ), None


_PLAIN = {str: pa.string(), bool: pa.bool_(), int: pa.int64(), float: pa.float64()}


def to_arrow(
    table: str,
    rows: list[dict[str, Any]],
    columns: dict[str, dict[str, Any]],
    extra_hints: dict[str, Any] | None = None,
    not_null: Iterable[str] = (),
) -> pa.Table | None:
    """``rows`` as an Arrow table with the declared column types, or None to keep them as dicts.

    Undeclared keys (fields passed through as sent) are typed from their values (see
    ``_undeclared_column``); the hints they need (``json``) are added to ``extra_hints``. None
    when a declared column's hint has no plain Arrow type, a value does not convert, or a key
    column holds a null (Arrow would not refuse it; dlt's dict path names the row instead).
    """
    if not rows:
        return None
    schema = arrow_schema(columns, not_null)
    if schema is None:
        return None
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    try:
        declared = pa.Table.from_pylist(rows, schema=schema)
        if any(declared.column(f.name).null_count for f in schema if not f.nullable):
            log.debug("%s: a key column holds a null, batch goes to dlt as dicts", table)
            return None
        added: dict[str, dict[str, Any]] = {}
        for name in keys:
            if name in columns:
                continue
            column = _undeclared_column(name, rows)
            if column is None:
                log.debug("%s: column %s has values of mixed types, batch goes to dlt as dicts", table, name)
                return None
            array, hint = column
            if array is None:
                continue
            declared = declared.append_column(name, array)
            if hint is not None:
                added[name] = hint
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        log.debug("%s: batch does not fit its declared types (%s), goes to dlt as dicts", table, exc)
        return None
    if extra_hints is not None:
        extra_hints.update(added)
    return declared


class ArrowBatches(ItemTransform[Any, dict[str, Any]]):
    """Pipe step: a batch marked with its table's hints (``emit``) becomes an Arrow table."""

    #: after the incremental step (1) and dlt's add_limit (1.1)
    placement_affinity = 1.5

    def __init__(self) -> None:
        super().__init__(lambda item, meta: item)

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if not (isinstance(meta, HintsMeta) and isinstance(item, list) and item and isinstance(item[0], dict)):
            return item
        hints = meta.hints
        added: dict[str, dict[str, Any]] = {}
        key = hints.get("primary_key") or ()
        keys = [key] if isinstance(key, str) else key
        table = to_arrow(str(hints.get("table_name")), item, hints.get("columns") or {}, added, keys)
        if table is None:
            return item
        if added:
            # copies: the columns dict is the caller's (``emit`` passes module-level tables), and a
            # hint written into it would declare the column for every later batch of the process
            extra = {name: {"name": name, **hint} for name, hint in added.items()}
            for field in ("columns", "original_columns"):
                if field in hints:
                    hints[field] = {**hints[field], **extra}
        return table


def arrow_batches(resources: Any) -> Any:
    """Add an ``ArrowBatches`` step to each resource; returns them, for a source's ``return``."""
    for resource in resources:
        resource.add_step(ArrowBatches())
    return resources


def coalesce(items: Iterable[Any], max_rows: int) -> Iterator[Any]:
    """Merge consecutive batches of one table (``emit`` items) into batches of up to ``max_rows`` rows.

    Why: dlt computes and validates a table schema for every item it receives, and an API page
    of 100 orders becomes two or three items; at a million orders that per-item cost rivals the
    rows' own. Empty batches (``materialize_table_schema``) and anything else pass at once.
    When one table reaches ``max_rows``, every held batch goes (see ``_flush``), and the rest
    when the input ends.
    """
    pending: dict[str, tuple[HintsMeta, list[Any]]] = {}
    for item in items:
        if not (
            isinstance(item, DataItemWithMeta)
            and isinstance(item.meta, HintsMeta)
            and type(item.data) is list
            and item.data
        ):
            yield item
            continue
        name = str(item.meta.hints.get("table_name"))
        held = pending.get(name)
        if held is None:
            held = pending[name] = (item.meta, list(item.data))
        else:
            held[1].extend(item.data)
        if len(held[1]) >= max_rows:
            yield from _flush(pending)
    yield from _flush(pending)


def _flush(pending: dict[str, tuple[HintsMeta, list[Any]]]) -> Iterator[Any]:
    """Every held batch, in the order its table first came: the parent table's batch first.

    The order matters: dlt's incremental step (with a lag) fails an assertion when the first
    batch it sees carries no cursor value (child rows) and a later one does (dlt 1.31,
    ``JsonIncremental``: ``assert self.last_value == self.start_value``)."""
    for held in pending.values():
        yield DataItemWithMeta(*held)
    pending.clear()
