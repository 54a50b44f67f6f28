"""HTTP plumbing shared by the blueprints: the one place domain errors become
HTTP statuses, strict body and query parsing, and caller identification."""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Chalice, Response
from chalice.app import Request

from chalicelib.config import get_settings
from chalicelib.domain.agency_keys import parse_key
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from chalicelib.domain.forms import FieldError, ValidationFailed

if TYPE_CHECKING:
    # Loaded by the first signed-in call: public routes need neither.
    from chalicelib.integrations.cognito import Citizen
    from chalicelib.services.agency_auth import AgencyPrincipal

logger = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (MalformedRequest, 400),
    (Unauthenticated, 401),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (InvalidInput, 422),
    (TooManyRequests, 429),
    (ServiceUnavailable, 503),
    (DomainError, 400),
)

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(error: DomainError) -> Response:
    status = next(status for cls, status in _STATUS if isinstance(error, cls))
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationFailed):
        extra["details"] = [{"field": e.field, "message": e.message} for e in error.errors]
    elif isinstance(error, InvalidInput) and error.field:
        extra["details"] = [{"field": error.field, "message": error.message}]
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="motcua"'
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=error_body(error.code, error.message, **extra), status_code=status, headers=headers)


def json_response(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status_code, headers={**JSON_HEADERS, **(headers or {})})


def api_route(bp: Blueprint, path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``bp.route`` whose view turns domain errors into the contract's error shape."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                return error_response(error)

        bp.route(path, cors=True, **options)(guarded)
        return view

    return decorator


# Chalice answers some requests itself (405, 415, its own JSON errors, 500):
# rewrite those into the contract's shape so clients see one error format.
_CHALICE_CODES = {
    "BadRequestError": "malformed_request",
    "BadRequest": "malformed_request",
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "NotFoundError": "not_found",
    "UnauthorizedError": "unauthenticated",
    "ForbiddenError": "forbidden",
    "InternalServerError": "internal_error",
}


def install_middleware(app: Chalice) -> None:
    from aws_lambda_powertools import Logger

    from chalicelib.integrations.logs import install_redaction

    install_redaction()

    # Only the route and the outcome are logged: bodies, headers and path values can
    # carry personal data (ID numbers, tokens, dossier codes).
    access_log = Logger(service="motcua", child=False)

    @app.middleware("http")
    def shape_and_log(event: Request, get_response: Callable[[Request], Response]) -> Response:
        started = time.perf_counter()
        response = get_response(event)
        _contract_error_shape(response)
        if isinstance(response.body, dict | list):
            # Vietnamese stays readable: UTF-8 rather than \u escapes.
            response.body = json.dumps(response.body, ensure_ascii=False, separators=(",", ":"))
            response.headers.update(JSON_HEADERS)
        context = getattr(event, "context", None) or {}
        access_log.info("request", extra={
            "method": getattr(event, "method", ""),
            "route": context.get("resourcePath", ""),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        })
        return response


def _contract_error_shape(response: Response) -> None:
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        message = str(body.get("Message", ""))
        if response.status_code >= 500:
            message = "Lỗi hệ thống, vui lòng thử lại sau / Internal error, please retry later"
        response.body = error_body(code, message)


def json_body(request: Request, *, required: bool = True) -> dict[str, Any]:
    raw = request.raw_body or b""
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge("Nội dung yêu cầu quá lớn / Request body too large")
    if not raw.strip():
        if required:
            raise MalformedRequest("Thiếu nội dung JSON / A JSON body is required", code="missing_body")
        return {}
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
        # Lone surrogates ("\ud800") parse but cannot be stored or echoed as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError, RecursionError):
        raise MalformedRequest("JSON không hợp lệ / Malformed JSON", code="malformed_json") from None
    if not isinstance(body, dict):
        raise MalformedRequest("Nội dung phải là một đối tượng JSON / The body must be a JSON object",
                               code="malformed_json")
    out_of_range = _first_non_finite(body, "")
    if out_of_range is not None:
        # "1e999" is valid JSON that reads as infinity, which could be stored but never sent back.
        raise ValidationFailed([FieldError(out_of_range, "số vượt quá giới hạn / number out of range")])
    return body


def _first_non_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(body)"
    children: Any = ()
    if isinstance(value, dict):
        children = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        children = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    for child_path, child in children:
        found = _first_non_finite(child, child_path)
        if found is not None:
            return found
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def query_params(request: Request, allowed: set[str]) -> dict[str, str]:
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInput(f"Tham số không được hỗ trợ / Unsupported query parameter: {', '.join(unknown)}",
                           code="unknown_parameter", field=unknown[0])
    return params


def int_param(params: Mapping[str, str], name: str, *, minimum: int, maximum: int,
              default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses; the length
    # bound keeps int() away from numbers too long to convert.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not minimum <= int(raw) <= maximum:
        raise InvalidInput(f"{name} phải là số nguyên từ {minimum} đến {maximum} / "
                           f"{name} must be an integer between {minimum} and {maximum}",
                           code="invalid_parameter", field=name)
    return int(raw)


def page_limit(params: Mapping[str, str]) -> int:
    limit = int_param(params, "limit", minimum=1, maximum=get_settings().page_size_max, default=20)
    assert limit is not None
    return limit


def bearer_token(request: Request) -> str:
    header = str(request.headers.get("authorization", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Cần đăng nhập / Sign-in required", code="unauthenticated")
    return token.strip()


def current_citizen(request: Request) -> Citizen:
    from chalicelib.integrations.cognito import verify_id_token

    return verify_id_token(bearer_token(request), get_settings())


def current_citizen_or_agency(request: Request) -> Citizen | AgencyPrincipal:
    """Either kind of caller, told apart by the token's shape (agency keys start "mc_")."""
    from chalicelib.integrations.cognito import verify_id_token
    from chalicelib.services.agency_auth import authenticate_agency

    token = bearer_token(request)
    if parse_key(token) is not None:
        return authenticate_agency(token)
    return verify_id_token(token, get_settings())


def current_agency(request: Request) -> AgencyPrincipal:
    """The agency whose API key is the request's bearer token (Unauthenticated otherwise)."""
    from chalicelib.services.agency_auth import authenticate_agency

    return authenticate_agency(bearer_token(request))
