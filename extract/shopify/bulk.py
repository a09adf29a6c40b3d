"""Bulk operations: run a query server-side, wait, download the JSONL, rebuild nested records.

Flow per query (reference: pipeline-facts.md "Shopify Bulk Operations"):

1. ``bulkOperationRunQuery(groupObjects: true)``. Only one bulk query runs per shop: on
   OPERATION_IN_PROGRESS the runner reads ``currentBulkOperation``; if that operation is running
   *our* query (a retry after a lost answer) it is adopted, otherwise the runner waits for it to
   finish and submits again. Submitting is therefore safe to retry, unlike other writes.
2. Poll ``node(id:)`` for that operation (exact even if another client starts a newer one) with
   exponential backoff until COMPLETED, FAILED, CANCELED or EXPIRED.
3. Stream ``url`` to a temporary file (no token: it is a signed storage URL, so it is never logged
   and is registered with the log redactor) and check it against ``fileSize`` / ``objectCount``;
   a short or cut download is fetched again.
4. Rebuild: a line with ``__parentId`` is a node of a nested connection; it goes back into
   ``{"nodes": [...]}`` of the object with that id, under the field that the (parent type, child
   type) pair names (``queries.child_fields``). ``groupObjects: true`` keeps each record's lines
   together, so records stream out one at a time.

A FAILED/CANCELED/EXPIRED operation raises ``BulkOperationFailed`` (with ``partialDataUrl`` as an
attribute, not in the message). Partial data is not used: it is an unordered prefix, so the source
falls back to paged GraphQL for that entity instead, which is complete by construction.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from extract.common.errors import ApiError, PlatformError, RateLimited, RetriesExhausted, TransientError
from extract.common.http import retry_after_seconds
from extract.common.redact import register_secret
from extract.shopify import queries as q
from extract.shopify.client import PLATFORM, ShopifyClient

log = logging.getLogger("extract.shopify")

TERMINAL = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
#: submissions refused as OPERATION_IN_PROGRESS before giving up (each waits for the running one)
_MAX_SUBMITS = 10
_OP_FIELDS = "id status errorCode objectCount rootObjectCount fileSize url partialDataUrl query"
_RUN = (
    "mutation Bulk($query: String!) { bulkOperationRunQuery(query: $query, groupObjects: true) { "
    f"bulkOperation {{ {_OP_FIELDS} }} userErrors {{ field message code }} }} }}"
)
_POLL = f"query Poll($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {_OP_FIELDS} }} }} }}"
_CURRENT = f"query Current {{ currentBulkOperation {{ {_OP_FIELDS} }} }}"


class BulkOperationFailed(ApiError):
    """The operation ended without a complete result; ``partial_data_url`` is kept out of the message."""

    def __init__(self, op: dict[str, Any]) -> None:
        super().__init__(
            PLATFORM,
            f"bulk operation {op.get('id')} ended {op.get('status')} "
            f"(errorCode {op.get('errorCode')}, {op.get('objectCount')} objects written)",
            code=op.get("errorCode"),
            path="bulk",
        )
        self.status = op.get("status")
        self.error_code = op.get("errorCode")
        self.partial_data_url = op.get("partialDataUrl")


class BulkFormatError(ApiError):
    """The JSONL does not match the query: a child whose parent is not in the current record."""


@dataclass
class BulkStats:
    operations: int = 0
    polls: int = 0
    objects: int = 0
    bytes: int = 0
    seconds: float = 0.0


class BulkRunner:
    """Runs bulk queries for one shop through a ``ShopifyClient`` (its pacing, retries and auth)."""

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client
        self.polling = client.bulk_polling
        self.stats = BulkStats()

    # ----------------------------------------------------------------- records

    def records(self, spec: q.Spec, search: str | None) -> Iterator[dict[str, Any]]:
        """Every record of ``spec`` (nested connections as ``{"nodes": [...]}``), as paged reads give them.

        Specs over the 5-connection limit run as several operations. The first part (the root's
        own fields) runs first and later parts after it: a record updated in between then carries
        the *older* ``updatedAt`` with the newer nested data, so the next incremental run (which
        starts from the older cursor) reads it again instead of missing the change. Records only
        a later part saw (created in between) are left to that next run too.
        """
        parts = q.bulk_parts(spec)
        files = [self.run(q.bulk_query(part, search)) for part in parts]
        try:
            extra: dict[str, dict[str, Any]] = {}
            for part, path in zip(parts[1:], files[1:], strict=True):
                for record in assemble(_lines(path), part):
                    fields = {c.field: record.get(c.field) for c in part.children}
                    if any(_non_empty(v) for v in fields.values()):
                        extra.setdefault(record["id"], {}).update(fields)
            for record in assemble(_lines(files[0]), parts[0]):
                for part in parts[1:]:
                    for c in part.children:
                        record[c.field] = [] if c.plain else {"nodes": []}
                record.update(extra.pop(record["id"], {}))
                yield record
        finally:
            for path in files:
                if path is not None:
                    path.unlink(missing_ok=True)

    # ----------------------------------------------------------------- one operation

    def run(self, query: str) -> Path | None:
        """Run one bulk query to completion; the downloaded JSONL (None when it produced nothing)."""
        started = time.monotonic()
        op = self._submit(query)
        op = self._wait(op)
        self.stats.operations += 1
        self.stats.seconds += time.monotonic() - started
        if op["status"] != "COMPLETED":
            raise BulkOperationFailed(op)
        self.stats.objects += int(op.get("objectCount") or 0)
        if not op.get("url"):
            return None
        return self._download(op)

    def _submit(self, query: str) -> dict[str, Any]:
        for _ in range(_MAX_SUBMITS):
            # safe to repeat: a duplicate submission is refused with OPERATION_IN_PROGRESS and adopted below
            data = self.client.execute(_RUN, {"query": query}, expected_cost=10).data
            payload = data.get("bulkOperationRunQuery") or {}
            errors = payload.get("userErrors") or []
            if not errors and payload.get("bulkOperation"):
                return payload["bulkOperation"]
            if not any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors):
                raise ApiError(PLATFORM, "bulk query refused: " + "; ".join(str(e.get("message")) for e in errors))
            current = self.client.execute(_CURRENT, expected_cost=2).data.get("currentBulkOperation")
            if current is None:
                continue
            if current.get("query") == query and current.get("status") not in ("CANCELED", "FAILED", "EXPIRED"):
                log.info("shopify %s: adopting bulk operation %s", self.client.conn.shop_domain, current.get("id"))
                return current
            log.info(
                "shopify %s: waiting for bulk operation %s before starting ours",
                self.client.conn.shop_domain,
                current.get("id"),
            )
            self._wait(current)
        raise ApiError(
            PLATFORM, f"bulk query not accepted after {_MAX_SUBMITS} attempts (another operation kept running)"
        )

    def _wait(self, op: dict[str, Any]) -> dict[str, Any]:
        delay = self.polling.initial_s
        deadline = self.client.monotonic() + self.polling.timeout_s
        while op.get("status") not in TERMINAL:
            if self.client.monotonic() > deadline:
                raise ApiError(
                    PLATFORM, f"bulk operation {op.get('id')} still {op.get('status')} after {self.polling.timeout_s} s"
                )
            self.client.sleep(delay)
            delay = min(self.polling.max_s, delay * self.polling.factor)
            self.stats.polls += 1
            node = self.client.execute(_POLL, {"id": op["id"]}, expected_cost=2).data.get("node")
            if node is None:
                raise ApiError(PLATFORM, f"bulk operation {op.get('id')} disappeared")
            op = node
        return op

    def _download(self, op: dict[str, Any]) -> Path:
        """Stream the result to a temp file; retry transport failures and short bodies."""
        url = str(op["url"])
        register_secret(urlsplit(url).query or None)  # a signed URL's signature grants read access
        expected_size = int(op["fileSize"]) if op.get("fileSize") not in (None, "") else None
        expected_lines = int(op.get("objectCount") or 0)
        policy = self.client.policy
        last: PlatformError | None = None
        attempt = throttled = 0
        while attempt < policy.max_attempts and throttled < policy.max_throttled:
            fd, name = tempfile.mkstemp(prefix="shopify-bulk-", suffix=".jsonl")
            path = Path(name)
            try:
                size, lines = 0, 0
                with os.fdopen(fd, "wb") as out, self.client.http.stream("GET", url) as resp:
                    if resp.status_code == 429:
                        raise RateLimited(
                            PLATFORM,
                            "bulk result download rate limited",
                            retry_after=retry_after_seconds(resp),
                            http_status=429,
                            path="bulk",
                        )
                    if resp.status_code >= 500:
                        raise TransientError(
                            PLATFORM, f"bulk result download answered HTTP {resp.status_code}", path="bulk"
                        )
                    if resp.status_code != 200:  # e.g. an expired signed URL (they live 7 days)
                        raise ApiError(
                            PLATFORM,
                            f"bulk result of {op.get('id')} not downloadable",
                            http_status=resp.status_code,
                            path="bulk",
                        )
                    for chunk in resp.iter_bytes():
                        out.write(chunk)
                        size += len(chunk)
                        lines += chunk.count(b"\n")
                if (expected_size is not None and size != expected_size) or lines != expected_lines:
                    raise TransientError(
                        PLATFORM,
                        f"bulk result incomplete: {size} bytes / {lines} lines, "
                        f"expected {expected_size} bytes / {expected_lines} lines",
                        path="bulk",
                    )
                self.stats.bytes += size
                return path
            except (httpx.TransportError, TransientError) as exc:
                path.unlink(missing_ok=True)
                last = (
                    exc
                    if isinstance(exc, TransientError)
                    else TransientError(PLATFORM, f"transport error: {exc.__class__.__name__}", path="bulk")
                )
                self.client.stats.retries += 1
                self.client.stats.note("bulk_download")
                # a 429 waits as told and does not use up the attempts (see RetryPolicy)
                if isinstance(last, RateLimited):
                    throttled += 1
                    wait = max(policy.backoff(min(throttled - 1, 6), self.client.rng), last.retry_after or 0.0)
                else:
                    attempt += 1
                    wait = policy.backoff(attempt - 1, self.client.rng)
                self.client.sleep(wait)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        assert last is not None
        raise RetriesExhausted(last, attempt + throttled)


def _lines(path: Path | None) -> Iterator[str]:
    if path is None:
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line


def _non_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value.get("nodes"))
    return bool(value)


def assemble(lines: Iterator[str], spec: q.Spec) -> Iterator[dict[str, Any]]:
    """Nest JSONL children back into their parents and yield one complete top-level record at a time."""
    placement = q.child_fields(spec)
    current: dict[str, Any] | None = None
    index: dict[str, tuple[dict[str, Any], q.Spec]] = {}
    for line in lines:
        obj = json.loads(line)
        parent_id = obj.pop("__parentId", None)
        if parent_id is None:
            if current is not None:
                yield _finish(current, spec)
            current, index = obj, {}
            _register(obj, spec, index)
            continue
        hit = index.get(parent_id)
        if hit is None:
            raise BulkFormatError(PLATFORM, "a bulk child line does not follow its parent record", path="bulk")
        holder, holder_spec = hit
        key = (holder_spec.node_type, _gid_type(obj.get("id")))
        if key not in placement:
            raise BulkFormatError(PLATFORM, f"bulk child of type {key[1]} under {key[0]} is not in the query")
        holder.setdefault(placement[key], {"nodes": []})["nodes"].append(obj)
        _register(obj, holder_spec.child(placement[key]), index)
    if current is not None:
        yield _finish(current, spec)


def _register(node: dict[str, Any], spec: q.Spec, index: dict[str, tuple[dict[str, Any], q.Spec]]) -> None:
    """Index a node and the nodes inline in its plain lists (a refund in ``refunds``) by id.

    Only nodes of the spec are indexed, not references such as ``location { id }``: a reference
    shares its target's id and must not capture that target's children.
    """
    ident = node.get("id")
    if isinstance(ident, str):
        index[ident] = (node, spec)
    for c in spec.children:
        if c.plain:
            for item in node.get(c.field) or []:
                _register(item, c, index)


def _finish(record: dict[str, Any], spec: q.Spec) -> dict[str, Any]:
    """Give every connection of the spec a ``{"nodes": [...]}`` (bulk omits empty ones), recursively."""
    for c in spec.children:
        if c.plain:
            items = record.get(c.field)
            if items is None:
                items = record[c.field] = []
            for item in items:
                _finish(item, c)
        else:
            conn = record.setdefault(c.field, {"nodes": []})
            for node in conn["nodes"]:
                _finish(node, c)
    return record


def _gid_type(value: Any) -> str:
    """``gid://shopify/Order/1`` -> ``Order`` (empty when the value is not a gid)."""
    text = str(value or "")
    if not text.startswith("gid://shopify/"):
        return ""
    return text[len("gid://shopify/") :].split("/", 1)[0]
