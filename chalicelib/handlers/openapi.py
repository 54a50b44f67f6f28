"""GET /openapi.json: the public contract."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.handlers.http import api_route, query_params

bp = Blueprint(__name__)


@api_route(bp, "/openapi.json", methods=["GET"])
def openapi_json() -> dict[str, Any]:
    # The document's module (1,200 lines of schemas) loads when the document is first asked for.
    from chalicelib.handlers.openapi_document import document

    query_params(bp.current_request, set())
    return document()
