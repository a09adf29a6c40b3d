"""Typed platform errors. Messages carry platform, code, message and request id -- never a URL's
query string, a header or a body, so no credential can leak through an exception."""

from __future__ import annotations


class PlatformError(Exception):
    retryable = False

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        code: str | int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        path: str | None = None,
    ) -> None:
        self.platform = platform
        self.code = code
        self.platform_message = message
        self.request_id = request_id
        self.http_status = http_status
        self.path = path
        parts = [f"{platform} API error"]
        if path:
            parts.append(f"on {path}")
        if http_status is not None:
            parts.append(f"(HTTP {http_status})")
        text = " ".join(parts) + f": {message}"
        if code is not None:
            text += f" [code {code}]"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


class TransientError(PlatformError):
    """Worth retrying: 429, 5xx, timeouts, connections cut mid-body, truncated JSON."""

    retryable = True


class RateLimited(TransientError):
    def __init__(self, platform: str, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(platform, message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class AuthError(PlatformError):
    """Bad or expired credentials: retrying cannot help, a person must act."""


class ApiError(PlatformError):
    """The platform understood the request and refused it."""


class OutcomeUnknown(PlatformError):
    """A write whose answer was lost (timeout, connection cut mid-body, truncated JSON, 5xx).

    The platform may or may not have applied it, so it is not repeated blindly: the caller
    re-reads the platform's state and decides.
    """


class RetriesExhausted(PlatformError):
    def __init__(self, last: PlatformError, attempts: int) -> None:
        super().__init__(
            last.platform,
            f"gave up after {attempts} attempts; last error: {last.platform_message}",
            code=last.code,
            request_id=last.request_id,
            http_status=last.http_status,
            path=last.path,
        )
        self.last = last
        self.attempts = attempts
