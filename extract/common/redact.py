"""Keep secrets out of logs: every log record is masked for every registered secret value.

Registering the first secret installs a log-record factory, so every record any logger creates
(the product's, httpx's, dlt's, Dagster's) is masked when it is made, before any handler,
formatter or event log sees it; a filter on some loggers would miss records that propagate from
their children. The message (with its arguments merged in) and an attached exception's text are
both masked, and a URL passed as a log argument (httpx's request log) loses its query string.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

import httpx

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
MASK = "***"
_installed = False


def register_secret(value: str | None) -> None:
    if value and len(value) >= 6:
        with _LOCK:
            _SECRETS.add(value)
        install()


def redact(text: str) -> str:
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def _clean(record: logging.LogRecord) -> None:
    if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) and a.query for a in record.args):
        # URLs are logged without their query string (TikTok's carries sign and shop_cipher); done
        # here because masking below would turn the URL into text no later filter can strip
        record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken log call must not break the run
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = redact(text)
        if cleaned != text:
            record.exc_text = cleaned


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _clean(record)
        return True


def install() -> None:
    """Mask every record from now on (idempotent): wraps the log-record factory once."""
    global _installed
    with _LOCK:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _clean(record)
        return record

    logging.setLogRecordFactory(factory)
