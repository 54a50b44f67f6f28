"""Domain errors. Each carries a stable snake_case code; handlers map the
class to an HTTP status in one place (``chalicelib/handlers/http.py``)."""

from __future__ import annotations


class DomainError(Exception):
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule (422)."""

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class MalformedRequest(DomainError):
    """The request cannot be read at all: bad JSON, wrong top-level type (400)."""

    code = "malformed_request"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The resource is not in a state that allows this (409)."""

    code = "conflict"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class TooManyRequests(DomainError):
    """The caller used up its share of an action for now (429, with Retry-After)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A provider the request needs (Stripe, S3) is not configured or not answering (503):
    the caller may retry later, and Stripe retries its webhooks on it."""

    code = "service_unavailable"
