"""One retry loop for both clients: exponential backoff with full jitter, honouring Retry-After.

The request is rebuilt on every attempt (TikTok signs each request with a fresh timestamp).
A body that ends early or is not valid JSON is treated like a 5xx: the platform did answer, but
not completely, so the same call is safe to repeat for reads. Writes pass ``repeatable=False``:
only failures that certainly changed nothing (429, connection refused) are retried, and any
failure after which the request may have been applied raises ``OutcomeUnknown`` at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from extract.common.errors import OutcomeUnknown, PlatformError, RateLimited, RetriesExhausted, TransientError


class Rejected(TransientError):
    """The platform refused the request before acting on it, for a reason the client can correct
    (TikTok: the signed ``timestamp`` was outside the gateway's window and the clock offset has
    been learned). The rebuilt request is safe to send again, even for a write."""


@dataclass
class CallStats:
    """What a client did; read by progress bars, summaries and the pacing benchmark."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    failed: int = 0
    wait_s: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


@dataclass
class RetryPolicy:
    """``max_attempts`` bounds the failures of one call (5xx, cut or truncated bodies, transport
    errors); ``max_throttled`` separately bounds its "too many requests" answers. A throttled
    request was not processed and the platform says when to come back, so a 429 storm longer
    than ``max_attempts`` is waited out instead of failing the run."""

    max_attempts: int = 8
    max_throttled: int = 40
    base_s: float = 0.25
    max_backoff_s: float = 30.0
    timeout_s: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
        return rng.uniform(0, min(self.max_backoff_s, self.base_s * (2**attempt)))


def retry_after_seconds(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def send_json(
    client: httpx.Client,
    build: Callable[[], httpx.Request],
    *,
    platform: str,
    path: str,
    policy: RetryPolicy,
    stats: CallStats,
    classify: Callable[[httpx.Response, Any], None] | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[str, float], None] | None = None,
    repeatable: bool = True,
) -> tuple[Any, httpx.Response]:
    """Send until a complete JSON answer arrives; ``classify`` raises typed errors for platform codes.

    ``repeatable=False`` is for writes: a lost answer raises ``OutcomeUnknown`` instead of a retry.
    """
    rng = rng or random.Random()
    last: PlatformError | None = None
    attempt = throttled = 0
    while True:
        stats.calls += 1
        try:
            resp = client.send(build())
            if resp.status_code == 429:
                raise RateLimited(
                    platform,
                    "rate limited",
                    retry_after=retry_after_seconds(resp),
                    http_status=429,
                    request_id=resp.headers.get("x-request-id") or resp.headers.get("x-tt-logid"),
                    path=path,
                )
            if resp.status_code >= 500:
                raise TransientError(
                    platform,
                    f"server error {resp.status_code}",
                    http_status=resp.status_code,
                    request_id=resp.headers.get("x-request-id") or resp.headers.get("x-tt-logid"),
                    path=path,
                )
            try:
                payload = json.loads(resp.content)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise TransientError(
                    platform, f"incomplete or invalid JSON body ({exc.__class__.__name__})", path=path
                ) from None
            if classify is not None:
                classify(resp, payload)
            return payload, resp
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError) as exc:
            last = TransientError(platform, f"transport error: {exc.__class__.__name__}", path=path)
            stats.note("transport")
            # never sent: no connection was made, or none was free in the pool
            if not repeatable and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
                raise _outcome_unknown(last, stats) from None
        except RateLimited as exc:
            last = exc
            stats.throttled += 1
            stats.note("throttled")
        except Rejected as exc:
            last = exc
            stats.note("rejected")
        except TransientError as exc:
            last = exc
            stats.note("transient")
            if not repeatable:
                raise _outcome_unknown(last, stats) from None
        if isinstance(last, RateLimited):
            throttled += 1
            if throttled >= policy.max_throttled:
                break
            wait = policy.backoff(min(throttled - 1, 6), rng)
            if last.retry_after is not None:
                wait = max(wait, last.retry_after)
        else:
            attempt += 1
            if attempt >= policy.max_attempts:
                break
            wait = policy.backoff(attempt - 1, rng)
        stats.retries += 1
        stats.wait_s += wait
        if on_wait is not None:
            on_wait(last.platform_message, wait)
        sleep(wait)
    stats.failed += 1
    assert last is not None
    raise RetriesExhausted(last, attempt + throttled)


def _outcome_unknown(last: PlatformError, stats: CallStats) -> OutcomeUnknown:
    stats.failed += 1
    stats.note("outcome_unknown")
    return OutcomeUnknown(
        last.platform,
        f"outcome unknown ({last.platform_message}); the write may have been applied: re-read before repeating",
        code=last.code,
        request_id=last.request_id,
        http_status=last.http_status,
        path=last.path,
    )
