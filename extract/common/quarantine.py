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


def quarantine_row(
    connection_id: str, entity: str, payload: Any, error: InvalidField | str, record_key: str | None = None
) -> dict[str, Any]:
    field = error.field if isinstance(error, InvalidField) else None
    reason = str(error)
    return {
        "connection_id": connection_id,
        "entity": entity,
        "record_hash": record_hash(payload),
        "record_key": record_key,
        "field": field,
        "reason": reason,
        "payload": json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)[:200_000],
        "last_seen_at": datetime.now(UTC),
    }


def emit(table: str, rows: list[dict[str, Any]], primary_key: list[str], columns: dict[str, Any] | None = None) -> Any:
    """Mark a batch of rows for ``table`` with its own merge key and column hints.

    One resource can then feed a parent table, its child tables and the quarantine while each
    table keeps its own primary key.
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
