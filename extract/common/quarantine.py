"""Quarantine: records that cannot be typed land here with the field and the reason, and the run goes on.

The table is merged on (connection_id, entity, record_hash), so a rerun that meets the same bad
record again does not count it twice, and a record that is fixed upstream simply stops appearing
in new loads (its quarantine row stays, with the time it was last seen).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import dlt

from extract.common.coerce import InvalidField

QUARANTINE_TABLE = "quarantine"
QUARANTINE_KEY = ["connection_id", "entity", "record_hash"]


def record_hash(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


#: longer payloads are stored as a JSON object holding their head (still valid JSON, still findable)
MAX_PAYLOAD_CHARS = 200_000
MAX_KEY_CHARS = 255


def record_key_of(value: Any) -> str | None:
    """A record's id as text for ``record_key``: scalars only (an object sent as an id names nothing)."""
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)[:MAX_KEY_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


def quarantine_row(
    connection_id: str, entity: str, payload: Any, error: InvalidField | str, record_key: str | None = None
) -> dict[str, Any]:
    """One quarantine row; ``reason`` names the record (entity and id), the field and what is wrong,
    so the line alone is actionable in a log, a report or a support ticket."""
    field = error.field if isinstance(error, InvalidField) else None
    key = record_key_of(record_key)
    reason = f"{entity} {key if key is not None else '(no usable id)'}: {error}"
    return {
        "connection_id": connection_id,
        "entity": entity,
        "record_hash": record_hash(payload),
        "record_key": key,
        "field": field,
        "reason": reason[:2_000],
        "payload": _payload_text(payload),
        "last_seen_at": datetime.now(UTC),
    }


def _payload_text(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it as its JSON escape
        text = json.dumps(payload, sort_keys=True, default=str)
    if len(text) <= MAX_PAYLOAD_CHARS:
        return text
    head = text[: MAX_PAYLOAD_CHARS // 2]
    return json.dumps({"truncated_from_chars": len(text), "head": head}, ensure_ascii=False)


def emit(table: str, rows: list[dict[str, Any]], primary_key: list[str], columns: dict[str, Any] | None = None) -> Any:
    """Mark a batch of rows for ``table`` with its own merge key and column hints.

    One resource can then feed a parent table, its child tables and the quarantine while each
    table keeps its own primary key. Batches stay lists of dicts here, so the resource's
    incremental step (which needs the cursor column in every Arrow table, and child tables have
    none) sees dicts; ``extract.common.arrow.ArrowBatches`` turns them into Arrow tables after it.
    """
    hints = dlt.mark.make_hints(
        table_name=table, primary_key=primary_key, write_disposition="merge", columns=columns or {}
    )
    return dlt.mark.with_hints(rows, hints, create_table_variant=True)


#: typed up front: ``field`` and ``record_key`` can be null in a whole load, and dlt does not
#: create columns that never received a value
QUARANTINE_COLUMNS = {
    "connection_id": {"data_type": "text"},
    "entity": {"data_type": "text"},
    "record_hash": {"data_type": "text"},
    "record_key": {"data_type": "text"},
    "field": {"data_type": "text"},
    "reason": {"data_type": "text"},
    "payload": {"data_type": "text"},
    "last_seen_at": {"data_type": "timestamp", "timezone": True},
}


def emit_quarantine(rows: list[dict[str, Any]]) -> Any:
    return emit(QUARANTINE_TABLE, rows, QUARANTINE_KEY, QUARANTINE_COLUMNS)
