"""The procedure catalogue: loading a province, browsing procedures."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.catalogue import Agency, Catalogue, Procedure, load_catalogue
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.integrations import cognito
from chalicelib.services.deps import get_storage, get_store, now
from chalicelib.store.repository import Page

TEMPLATE_PREFIX = "templates"
PROCEDURE_CODE = re.compile(r"[0-9A-Za-z._-]{1,40}")


def template_key(province: str, file: str) -> str:
    return f"{TEMPLATE_PREFIX}/{province}/{file}"


def load_province(directory: Path) -> Catalogue:
    """Validates a province's data folder, then stores it: templates first, then the
    catalogue in one transaction, so a bad file changes nothing and a reload is a no-op."""
    settings = get_settings()
    catalogue = load_catalogue(directory)
    storage = get_storage(settings)
    templates_dir = directory / "templates"
    for procedure in catalogue.procedures:
        for template in procedure.templates:
            path = templates_dir / template.file
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/"):
                content_type += "; charset=utf-8"
            storage.put(settings.documents_bucket, template_key(settings.province, template.file),
                        path.read_bytes(), content_type=content_type)
    get_store(settings).put_catalogue(catalogue)
    return catalogue


@dataclass(frozen=True)
class ProcedureFilters:
    level: int | None = None
    tier: str | None = None
    agency_code: str | None = None
    query: str | None = None


def list_procedures(filters: ProcedureFilters, *, cursor: str | None, limit: int) -> Page[Procedure]:
    return get_store().list_procedures(
        level=filters.level, tier=filters.tier, agency_code=filters.agency_code, query=filters.query,
        cursor=cursor, limit=limit,
    )


@dataclass(frozen=True)
class ProcedureDetail:
    procedure: Procedure
    agencies: dict[str, Agency]
    template_urls: list[tuple[str, str]]  # (name, presigned GET url)
    templates_expire_at: datetime | None = None  # when those URLs stop working


def password_policy() -> dict[str, Any] | None:
    """What the web front tells citizens choosing a password (the Cognito pool's rules)."""
    return cognito.password_policy(get_settings())


def list_agencies() -> list[dict[str, Any]]:
    """Every agency of the province by code, with how many procedures it receives: the
    directory kept with the catalogue summary (the remembered pointer: no read while it is fresh)."""
    summary = get_store().catalogue_summary()
    return sorted(summary["agencies"] if summary else [], key=lambda agency: str(agency["agency_code"]))


def get_procedure(code: str) -> Procedure:
    # Codes are short ASCII ("1.001193", "LD.001"); anything else cannot exist and
    # must not reach DynamoDB (keys over 2 KB are a client error there).
    procedure = get_store().get_procedure(code) if PROCEDURE_CODE.fullmatch(code) else None
    if procedure is None:
        raise NotFound(f"Không tìm thấy thủ tục {code} / Procedure {code} not found",
                       code="procedure_not_found")
    return procedure


def procedure_detail(code: str) -> ProcedureDetail:
    settings = get_settings()
    procedure = get_procedure(code)
    store = get_store(settings)
    codes = {step.agency_code for step in procedure.route}
    codes.update(branch.agency_code for step in procedure.route for branch in step.parallel)
    # Names from the directory the remembered catalogue pointer carries: no read per agency.
    agencies = store.public_agencies(codes)
    urls: list[tuple[str, str]] = []
    expire_at: datetime | None = None
    if procedure.level >= 2 and procedure.templates:
        storage = get_storage(settings)
        # Said with the links, so that a page left open asks for fresh ones instead of failing.
        expire_at = now() + timedelta(seconds=settings.template_url_seconds)
        urls = [
            (t.name, storage.presigned_get(settings.documents_bucket, template_key(settings.province, t.file),
                                           expires_in=settings.template_url_seconds, filename=t.file))
            for t in procedure.templates
        ]
    return ProcedureDetail(procedure, agencies, urls, expire_at)


def require_online_procedure(code: str) -> Procedure:
    procedure = get_store().get_procedure(code) if PROCEDURE_CODE.fullmatch(code) else None
    if procedure is None:
        raise InvalidInput(f"Không có thủ tục {code} / Unknown procedure {code}",
                           code="unknown_procedure", field="procedure_code")
    return procedure
