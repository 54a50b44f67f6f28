"""GET /openapi.json: the public contract."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.handlers.http import api_route, query_params
from chalicelib.handlers.openapi_document import document

bp = Blueprint(__name__)


@api_route(bp, "/openapi.json", methods=["GET"])
def openapi_json() -> dict[str, Any]:
    query_params(bp.current_request, set())
    return document()
