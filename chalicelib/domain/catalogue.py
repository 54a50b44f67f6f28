"""A province's catalogue: agencies, administrative procedures and their routes.

Pure Python. The province's data files (``infra/provinces/<name>/``) are parsed
and validated here; the store persists what this module returns.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

StepKind = Literal["reception", "processing", "payment"]
ServiceLevel = Literal[1, 2, 3, 4]


@dataclass(frozen=True)
class Agency:
    code: str  # electronic identifier (Decision 20/2020/QĐ-TTg), e.g. "000.00.21.H38"
    name: str  # Vietnamese
    tier: str  # one of the province's tiers, e.g. "province" or "commune"
    name_en: str = ""
    parent_code: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True)
class DocumentRequirement:
    id: str
    name: str  # Vietnamese
    required: bool = True


@dataclass(frozen=True)
class FormTemplate:
    name: str  # Vietnamese display name
    file: str  # file name under the province's templates/ folder; S3 key is derived from it


@dataclass(frozen=True)
class ParallelBranch:
    agency_code: str
    days: float


@dataclass(frozen=True)
class RouteStep:
    kind: StepKind
    agency_code: str  # for a parallel step: the lead agency, which waits for the others
    days: float  # working days this step may take
    parallel: tuple[ParallelBranch, ...] = ()


@dataclass(frozen=True)
class FeeExemption:
    """An applicant category the law exempts from the procedure's fee (miễn phí, lệ phí)."""

    category: str  # snake_case id the citizen claims, e.g. "poor_household"
    name: str  # Vietnamese
    legal_basis: str  # a source id of the catalogue's "sources"


@dataclass(frozen=True)
class Procedure:
    code: str  # national procedure database code, e.g. "1.001193"
    name: str  # Vietnamese
    tier: str
    agency_code: str  # the agency that receives the dossier (its desk issues the dossier code)
    level: int  # 1..4 (Decree 43/2011 art. 3)
    fee_vnd: int
    processing_days: float  # working days in total (Decree 61/2018)
    form_schema: dict[str, Any]
    required_documents: tuple[DocumentRequirement, ...]
    templates: tuple[FormTemplate, ...]
    route: tuple[RouteStep, ...]
    name_en: str = ""
    field: str = ""  # lĩnh vực, e.g. "Hộ tịch"
    legal_basis: tuple[str, ...] = ()
    # which legal text each value comes from
    sources: dict[str, str] = dataclasses.field(default_factory=dict)
    fee_exemptions: tuple[FeeExemption, ...] = ()
    # Titles of the legal texts this procedure cites (legal_basis, sources, fee exemptions),
    # copied from the catalogue's "sources" when it is loaded, so a citizen reads the text's name.
    source_titles: dict[str, str] = dataclasses.field(default_factory=dict)

    def fee_exemption(self, category: str) -> FeeExemption | None:
        return next((exemption for exemption in self.fee_exemptions if exemption.category == category), None)

    @property
    def interagency(self) -> bool:
        """Liên thông: more than one agency takes part in the route."""
        agencies = {step.agency_code for step in self.route}
        for step in self.route:
            agencies.update(branch.agency_code for branch in step.parallel)
        return len(agencies) > 1

    @property
    def accepts_online_submission(self) -> bool:
        return self.level >= 3


@dataclass(frozen=True)
class Catalogue:
    province: str
    tiers: tuple[str, ...]
    agencies: tuple[Agency, ...]
    procedures: tuple[Procedure, ...]


# --------------------------------------------------------------------------- parsing

PROVINCE_FILE = "province.json"
AGENCIES_FILE = "agencies.json"
PROCEDURES_FILE = "procedures.json"
TEMPLATES_DIR = "templates"

_CODE_RE = re.compile(r"^[0-9A-Z.]+$")  # agency identifiers and procedure codes: URL- and dossier-code-safe
_SLUG_RE = re.compile(r"^[a-z][a-z0-9_]*$")  # tier codes, document ids, form field names
_SOURCE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a plain file name, no folders
# "payment": the dossier waits for its fee (status 6) at this point of the route; its days
# are the time the citizen has to pay, which the law does not count as processing time.
_STEP_KINDS: tuple[str, ...] = ("reception", "processing", "payment")
# The applicant block (full_name, id_number, phone, email, address) is common to every
# dossier and handled outside the procedure's form; a form must not ask for it again.
APPLICANT_FIELDS = frozenset({"full_name", "id_number", "phone", "email", "address"})
# Per-procedure values that ``sources`` may name a source for; fee and duration must be named.
_SOURCED_VALUES = frozenset(
    {"fee_vnd", "processing_days", "level", "agency_code", "route", "form_schema", "required_documents"}
)
_REQUIRED_SOURCED_VALUES = ("fee_vnd", "processing_days")
_DAYS_TOLERANCE = 1e-9


class CatalogueError(ValueError):
    """A province data file is invalid. Names the file, the procedure (if any) and the field."""

    def __init__(self, file: str, field: str, message: str, *, procedure_code: str | None = None) -> None:
        self.file = file
        self.procedure_code = procedure_code
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file]
        if self.procedure_code is not None:
            parts.append(f"procedure {self.procedure_code}")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class _Ctx:
    """Where we are while reading: the file, and the procedure once its code is known."""

    def __init__(self, file: str, procedure_code: str | None = None) -> None:
        self.file = file
        self.procedure_code = procedure_code

    def error(self, field: str, message: str) -> CatalogueError:
        return CatalogueError(self.file, field, message, procedure_code=self.procedure_code)


def _type_name(value: object) -> str:
    return type(value).__name__ if value is not None else "null"


def _object(
    ctx: _Ctx, field: str, value: object, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ctx.error(field, f"expected an object, got {_type_name(value)}")
    required_keys = tuple(required)
    allowed = set(required_keys) | set(optional)
    for key in value:
        if not isinstance(key, str) or key not in allowed:
            raise ctx.error(_join(field, str(key)), "unknown field")
    for key in required_keys:
        if key not in value:
            raise ctx.error(_join(field, key), "missing required field")
    return cast(dict[str, Any], value)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _str(
    ctx: _Ctx, field: str, value: object, *, pattern: re.Pattern[str] | None = None, empty: bool = False
) -> str:
    if not isinstance(value, str):
        raise ctx.error(field, f"expected a string, got {_type_name(value)}")
    if not empty and not value.strip():
        raise ctx.error(field, "must not be empty")
    if pattern is not None and not pattern.fullmatch(value):
        raise ctx.error(field, f"{value!r} does not match {pattern.pattern}")
    return value


def _opt_str(ctx: _Ctx, field: str, value: object, *, pattern: re.Pattern[str] | None = None) -> str | None:
    return None if value is None else _str(ctx, field, value, pattern=pattern)


def _int(ctx: _Ctx, field: str, value: object) -> int:
    # bool is an int in Python, not in a catalogue; a Decimal from DynamoDB is fine when integral.
    if isinstance(value, bool):
        raise ctx.error(field, "expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ctx.error(field, f"expected an integer, got {_type_name(value)}")


def _number(ctx: _Ctx, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ctx.error(field, f"expected a number, got {_type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ctx.error(field, "must be a finite number")
    return number


def _positive_days(ctx: _Ctx, field: str, value: object) -> float:
    days = _number(ctx, field, value)
    if days <= 0:
        raise ctx.error(field, f"must be positive, got {days:g}")
    return days


def _bool(ctx: _Ctx, field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(field, f"expected true or false, got {_type_name(value)}")
    return value


def _list(ctx: _Ctx, field: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ctx.error(field, f"expected an array, got {_type_name(value)}")
    return value


def _plain(value: Any) -> Any:
    """JSON-shaped copy: Decimals (as DynamoDB returns numbers) become int or float."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- province ---------------------------------------------------------------


def _read_province(raw: object) -> tuple[str, tuple[str, ...]]:
    ctx = _Ctx(PROVINCE_FILE)
    data = _object(ctx, "", raw, ("code", "name", "tiers"), ("name_en", "identifier", "note"))
    code = _str(ctx, "code", data["code"], pattern=_SLUG_RE)
    _str(ctx, "name", data["name"])
    if "name_en" in data:
        _str(ctx, "name_en", data["name_en"])
    if "identifier" in data:
        _str(ctx, "identifier", data["identifier"], pattern=_CODE_RE)
    if "note" in data:
        _str(ctx, "note", data["note"])
    tiers: list[str] = []
    raw_tiers = _list(ctx, "tiers", data["tiers"])
    if not raw_tiers:
        raise ctx.error("tiers", "at least one tier is required")
    for index, raw_tier in enumerate(raw_tiers):
        field = f"tiers[{index}]"
        tier = _object(ctx, field, raw_tier, ("code", "name"), ("name_en",))
        tier_code = _str(ctx, f"{field}.code", tier["code"], pattern=_SLUG_RE)
        _str(ctx, f"{field}.name", tier["name"])
        if "name_en" in tier:
            _str(ctx, f"{field}.name_en", tier["name_en"])
        if tier_code in tiers:
            raise ctx.error(f"{field}.code", f"duplicate tier {tier_code!r}")
        tiers.append(tier_code)
    return code, tuple(tiers)


# --- agencies ---------------------------------------------------------------

_AGENCY_REQUIRED = ("code", "name", "tier")
_AGENCY_OPTIONAL = ("name_en", "parent_code", "webhook_url")


def _read_agency(ctx: _Ctx, field: str, raw: object) -> Agency:
    data = _object(ctx, field, raw, _AGENCY_REQUIRED, _AGENCY_OPTIONAL)
    webhook_url = _opt_str(ctx, _join(field, "webhook_url"), data.get("webhook_url"))
    if webhook_url is not None and not webhook_url.startswith(("https://", "http://")):
        raise ctx.error(_join(field, "webhook_url"), "must be an http(s) URL")
    return Agency(
        code=_str(ctx, _join(field, "code"), data["code"], pattern=_CODE_RE),
        name=_str(ctx, _join(field, "name"), data["name"]),
        tier=_str(ctx, _join(field, "tier"), data["tier"], pattern=_SLUG_RE),
        name_en=_str(ctx, _join(field, "name_en"), data.get("name_en", ""), empty=True),
        parent_code=_opt_str(ctx, _join(field, "parent_code"), data.get("parent_code"), pattern=_CODE_RE),
        webhook_url=webhook_url,
    )


def _read_agencies(raw: object, tiers: tuple[str, ...]) -> tuple[Agency, ...]:
    ctx = _Ctx(AGENCIES_FILE)
    data = _object(ctx, "", raw, ("agencies",), ("note",))
    if "note" in data:
        _str(ctx, "note", data["note"])
    raw_agencies = _list(ctx, "agencies", data["agencies"])
    if not raw_agencies:
        raise ctx.error("agencies", "at least one agency is required")
    agencies: list[Agency] = []
    seen: dict[str, int] = {}
    for index, raw_agency in enumerate(raw_agencies):
        field = f"agencies[{index}]"
        agency = _read_agency(ctx, field, raw_agency)
        if agency.code in seen:
            raise ctx.error(
                f"{field}.code", f"duplicate agency code {agency.code!r} (also agencies[{seen[agency.code]}])"
            )
        if agency.tier not in tiers:
            raise ctx.error(
                f"{field}.tier", f"unknown tier {agency.tier!r}; the province's tiers are {list(tiers)}"
            )
        seen[agency.code] = index
        agencies.append(agency)
    by_code = {agency.code: agency for agency in agencies}
    for index, agency in enumerate(agencies):
        if agency.parent_code is None:
            continue
        field = f"agencies[{index}].parent_code"
        if agency.parent_code not in by_code:
            raise ctx.error(field, f"unknown agency {agency.parent_code!r}")
        # Walk up: a parent chain must end, never come back to where it started.
        visited = {agency.code}
        parent: str | None = agency.parent_code
        while parent is not None:
            if parent in visited:
                raise ctx.error(field, f"parent chain of {agency.code!r} loops through {parent!r}")
            visited.add(parent)
            parent = by_code[parent].parent_code
    return tuple(agencies)


def agency_to_dict(agency: Agency) -> dict[str, Any]:
    """JSON-shaped dict in the agencies.json shape; optional fields only when set."""
    data: dict[str, Any] = {
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "tier": agency.tier,
    }
    if agency.parent_code is not None:
        data["parent_code"] = agency.parent_code
    if agency.webhook_url is not None:
        data["webhook_url"] = agency.webhook_url
    return data


def agency_from_dict(data: dict[str, Any]) -> Agency:
    """Inverse of :func:`agency_to_dict`; checks shape and types (raises CatalogueError)."""
    return _read_agency(_Ctx("<agency>"), "", data)


# --- procedures -------------------------------------------------------------

_PROCEDURE_REQUIRED = (
    "code",
    "name",
    "tier",
    "agency_code",
    "level",
    "fee_vnd",
    "processing_days",
    "form_schema",
    "required_documents",
    "templates",
    "route",
)
_PROCEDURE_OPTIONAL = ("name_en", "field", "legal_basis", "sources", "notes", "interagency", "fee_exemptions",
                       "source_titles")


def _read_form_schema(ctx: _Ctx, raw: object, level: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ctx.error("form_schema", f"expected an object, got {_type_name(raw)}")
    # Imported here: only loading a catalogue checks schemas, and jsonschema is a heavy import that
    # the read path (procedure_from_stored) must not pay on a cold start.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = cast(dict[str, Any], _plain(raw))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{part!r}]" if isinstance(part, int) else f".{part}" for part in exc.path)
        raise ctx.error(
            f"form_schema{where}", f"not a valid JSON Schema (draft 2020-12): {exc.message}"
        ) from None
    if schema.get("type") != "object":
        raise ctx.error("form_schema.type", 'must be "object"')
    if schema.get("additionalProperties") is not False:
        raise ctx.error("form_schema.additionalProperties", "must be false")
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        raise ctx.error("form_schema.properties", "missing: an object schema lists its properties")
    for name in properties:
        if not _SLUG_RE.fullmatch(name):
            raise ctx.error(f"form_schema.properties.{name}", "field names are snake_case identifiers")
        if name in APPLICANT_FIELDS:
            raise ctx.error(
                f"form_schema.properties.{name}",
                "the applicant's identity belongs to the common applicant block",
            )
    for index, name in enumerate(schema.get("required", [])):
        if name not in properties:
            raise ctx.error(f"form_schema.required[{index}]", f"{name!r} is not a property")
    if level == 1 and properties:
        raise ctx.error("form_schema.properties", "a level 1 procedure (information only) has no form")
    return schema


def _read_documents(ctx: _Ctx, raw: object) -> tuple[DocumentRequirement, ...]:
    documents: list[DocumentRequirement] = []
    seen: set[str] = set()
    for index, raw_document in enumerate(_list(ctx, "required_documents", raw)):
        field = f"required_documents[{index}]"
        data = _object(ctx, field, raw_document, ("id", "name"), ("required",))
        document = DocumentRequirement(
            id=_str(ctx, f"{field}.id", data["id"], pattern=_SLUG_RE),
            name=_str(ctx, f"{field}.name", data["name"]),
            required=_bool(ctx, f"{field}.required", data.get("required", True)),
        )
        if document.id in seen:
            raise ctx.error(f"{field}.id", f"duplicate document id {document.id!r}")
        seen.add(document.id)
        documents.append(document)
    return tuple(documents)


def _read_templates(ctx: _Ctx, raw: object, level: int) -> tuple[FormTemplate, ...]:
    templates: list[FormTemplate] = []
    seen: set[str] = set()
    for index, raw_template in enumerate(_list(ctx, "templates", raw)):
        field = f"templates[{index}]"
        data = _object(ctx, field, raw_template, ("name", "file"))
        template = FormTemplate(
            name=_str(ctx, f"{field}.name", data["name"]),
            file=_str(ctx, f"{field}.file", data["file"], pattern=_FILE_RE),
        )
        if template.file in seen:
            raise ctx.error(f"{field}.file", f"duplicate template file {template.file!r}")
        seen.add(template.file)
        templates.append(template)
    if level >= 2 and not templates:
        raise ctx.error("templates", f"a level {level} procedure offers at least one form to download")
    if level == 1 and templates:
        raise ctx.error("templates", "a level 1 procedure (information only) has no forms; that is level 2")
    return tuple(templates)


def _read_fee_exemptions(ctx: _Ctx, raw: object, fee_vnd: int) -> tuple[FeeExemption, ...]:
    exemptions: list[FeeExemption] = []
    seen: dict[str, int] = {}
    for index, raw_exemption in enumerate(_list(ctx, "fee_exemptions", raw)):
        field = f"fee_exemptions[{index}]"
        data = _object(ctx, field, raw_exemption, ("category", "name", "legal_basis"))
        exemption = FeeExemption(
            category=_str(ctx, f"{field}.category", data["category"], pattern=_SLUG_RE),
            name=_str(ctx, f"{field}.name", data["name"]),
            legal_basis=_str(ctx, f"{field}.legal_basis", data["legal_basis"], pattern=_SOURCE_ID_RE),
        )
        if exemption.category in seen:
            raise ctx.error(
                f"{field}.category",
                f"duplicate category {exemption.category!r} (also fee_exemptions[{seen[exemption.category]}])",
            )
        seen[exemption.category] = index
        exemptions.append(exemption)
    if exemptions and fee_vnd == 0:
        raise ctx.error("fee_exemptions", "only a procedure with a fee (fee_vnd > 0) has fee exemptions")
    return tuple(exemptions)


def _read_route(ctx: _Ctx, raw: object) -> tuple[RouteStep, ...]:
    raw_steps = _list(ctx, "route", raw)
    if not raw_steps:
        raise ctx.error("route", "at least one step (the reception desk) is required")
    steps: list[RouteStep] = []
    for index, raw_step in enumerate(raw_steps):
        field = f"route[{index}]"
        data = _object(ctx, field, raw_step, ("kind", "agency_code", "days"), ("parallel",))
        kind = _str(ctx, f"{field}.kind", data["kind"])
        if kind not in _STEP_KINDS:
            raise ctx.error(
                f"{field}.kind", f"unknown step kind {kind!r}; expected one of {list(_STEP_KINDS)}"
            )
        agency_code = _str(ctx, f"{field}.agency_code", data["agency_code"], pattern=_CODE_RE)
        days = _positive_days(ctx, f"{field}.days", data["days"])
        branches: list[ParallelBranch] = []
        branch_agencies = {agency_code}
        for branch_index, raw_branch in enumerate(_list(ctx, f"{field}.parallel", data.get("parallel", []))):
            branch_field = f"{field}.parallel[{branch_index}]"
            branch_data = _object(ctx, branch_field, raw_branch, ("agency_code", "days"))
            branch = ParallelBranch(
                agency_code=_str(
                    ctx, f"{branch_field}.agency_code", branch_data["agency_code"], pattern=_CODE_RE
                ),
                days=_positive_days(ctx, f"{branch_field}.days", branch_data["days"]),
            )
            if branch.agency_code in branch_agencies:
                raise ctx.error(
                    f"{branch_field}.agency_code",
                    f"agency {branch.agency_code!r} already takes part in this step",
                )
            branch_agencies.add(branch.agency_code)
            branches.append(branch)
        if kind in ("reception", "payment") and branches:
            raise ctx.error(f"{field}.parallel", f"a {kind} step has no parallel branches")
        steps.append(
            RouteStep(kind=cast(StepKind, kind), agency_code=agency_code, days=days, parallel=tuple(branches))
        )
    return tuple(steps)


def route_days(route: Iterable[RouteStep]) -> float:
    """Working days a route takes: steps add up; a parallel step takes its longest branch (lead
    included); waiting for the fee is the citizen's time and does not count."""
    total = 0.0
    for step in route:
        if step.kind == "payment":
            continue
        total += max([step.days, *(branch.days for branch in step.parallel)])
    return total


def _read_procedure(ctx: _Ctx, field: str, raw: object) -> Procedure:
    """Shape, types and the rules a procedure must satisfy on its own (no cross-references)."""
    # Once the code is known, errors name the procedure and fields are relative to it;
    # until then (no usable code) they point at the procedure's place in the file.
    peeked = raw.get("code") if isinstance(raw, dict) else None
    if isinstance(peeked, str) and _CODE_RE.fullmatch(peeked):
        ctx, field = _Ctx(ctx.file, procedure_code=peeked), ""
    data = _object(ctx, field, raw, _PROCEDURE_REQUIRED, _PROCEDURE_OPTIONAL)
    code = _str(ctx, _join(field, "code"), data["code"], pattern=_CODE_RE)
    ctx = _Ctx(ctx.file, procedure_code=code)
    level = _int(ctx, "level", data["level"])
    if not 1 <= level <= 4:
        raise ctx.error("level", f"service level must be 1..4, got {level}")
    fee_vnd = _int(ctx, "fee_vnd", data["fee_vnd"])
    if fee_vnd < 0:
        raise ctx.error("fee_vnd", f"must not be negative, got {fee_vnd}")
    processing_days = _positive_days(ctx, "processing_days", data["processing_days"])
    agency_code = _str(ctx, "agency_code", data["agency_code"], pattern=_CODE_RE)

    legal_basis: list[str] = []
    for index, source_id in enumerate(_list(ctx, "legal_basis", data.get("legal_basis", []))):
        source_id = _str(ctx, f"legal_basis[{index}]", source_id, pattern=_SOURCE_ID_RE)
        if source_id in legal_basis:
            raise ctx.error(f"legal_basis[{index}]", f"duplicate source {source_id!r}")
        legal_basis.append(source_id)
    raw_sources = data.get("sources", {})
    if not isinstance(raw_sources, dict):
        raise ctx.error("sources", f"expected an object, got {_type_name(raw_sources)}")
    sources: dict[str, str] = {}
    for key, source_id in raw_sources.items():
        if key not in _SOURCED_VALUES:
            raise ctx.error(f"sources.{key}", f"unknown field; sources may name {sorted(_SOURCED_VALUES)}")
        sources[key] = _str(ctx, f"sources.{key}", source_id, pattern=_SOURCE_ID_RE)
    if "notes" in data:
        _str(ctx, "notes", data["notes"])

    route = _read_route(ctx, data["route"])
    first = route[0]
    if first.kind != "reception":
        raise ctx.error("route[0].kind", f"the first step is the reception desk, got {first.kind!r}")
    if first.agency_code != agency_code:
        raise ctx.error(
            "route[0].agency_code",
            f"reception is at the receiving agency {agency_code!r}, got {first.agency_code!r}",
        )
    payments = [index for index, step in enumerate(route) if step.kind == "payment"]
    if payments and (level < 4 or fee_vnd == 0):
        raise ctx.error(f"route[{payments[0]}].kind",
                        "only a level 4 procedure with a fee waits for online payment")
    if len(payments) > 1:
        raise ctx.error(f"route[{payments[1]}].kind", "a route waits for its fee once")
    total = route_days(route)
    if abs(total - processing_days) > _DAYS_TOLERANCE:
        raise ctx.error(
            "route",
            f"step days add up to {total:g} working days, processing_days is {processing_days:g}",
        )
    procedure = Procedure(
        code=code,
        name=_str(ctx, "name", data["name"]),
        tier=_str(ctx, "tier", data["tier"], pattern=_SLUG_RE),
        agency_code=agency_code,
        level=level,
        fee_vnd=fee_vnd,
        processing_days=processing_days,
        form_schema=_read_form_schema(ctx, data["form_schema"], level),
        required_documents=_read_documents(ctx, data["required_documents"]),
        templates=_read_templates(ctx, data["templates"], level),
        route=route,
        name_en=_str(ctx, "name_en", data.get("name_en", ""), empty=True),
        field=_str(ctx, "field", data.get("field", ""), empty=True),
        legal_basis=tuple(legal_basis),
        sources=sources,
        fee_exemptions=_read_fee_exemptions(ctx, data.get("fee_exemptions", []), fee_vnd),
        source_titles=_read_sources(ctx, data.get("source_titles", {}), field="source_titles"),
    )
    if "interagency" in data and _bool(ctx, "interagency", data["interagency"]) != procedure.interagency:
        raise ctx.error("interagency", f"says {data['interagency']}, the route says {procedure.interagency}")
    return procedure


def _check_procedure_references(
    procedure: Procedure,
    *,
    tiers: tuple[str, ...],
    agencies: dict[str, Agency],
    source_ids: set[str],
    templates_dir: Path | None,
) -> None:
    ctx = _Ctx(PROCEDURES_FILE, procedure_code=procedure.code)
    if procedure.tier not in tiers:
        raise ctx.error("tier", f"unknown tier {procedure.tier!r}; the province's tiers are {list(tiers)}")
    receiving = agencies.get(procedure.agency_code)
    if receiving is None:
        raise ctx.error("agency_code", f"unknown agency {procedure.agency_code!r}")
    if receiving.tier != procedure.tier:
        raise ctx.error(
            "tier",
            f"procedure is at tier {procedure.tier!r} but its receiving agency "
            f"{receiving.code!r} is at tier {receiving.tier!r}",
        )
    for index, step in enumerate(procedure.route):
        if step.agency_code not in agencies:
            raise ctx.error(f"route[{index}].agency_code", f"unknown agency {step.agency_code!r}")
        for branch_index, branch in enumerate(step.parallel):
            if branch.agency_code not in agencies:
                raise ctx.error(
                    f"route[{index}].parallel[{branch_index}].agency_code",
                    f"unknown agency {branch.agency_code!r}",
                )
    for index, source_id in enumerate(procedure.legal_basis):
        if source_id not in source_ids:
            raise ctx.error(f"legal_basis[{index}]", f"unknown source {source_id!r}")
    for index, exemption in enumerate(procedure.fee_exemptions):
        if exemption.legal_basis not in source_ids:
            raise ctx.error(f"fee_exemptions[{index}].legal_basis", f"unknown source {exemption.legal_basis!r}")
    for key in _REQUIRED_SOURCED_VALUES:
        if key not in procedure.sources:
            raise ctx.error(
                f"sources.{key}", "missing: name the legal text (or the assumption) this value comes from"
            )
    for key, source_id in procedure.sources.items():
        if source_id not in source_ids:
            raise ctx.error(f"sources.{key}", f"unknown source {source_id!r}")
    if templates_dir is not None:
        for index, template in enumerate(procedure.templates):
            if not (templates_dir / template.file).is_file():
                raise ctx.error(f"templates[{index}].file", f"{template.file!r} not found in {templates_dir}")


def _read_sources(ctx: _Ctx, raw: object, *, field: str = "sources") -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ctx.error(field, f"expected an object, got {_type_name(raw)}")
    sources: dict[str, str] = {}
    for key, citation in raw.items():
        _str(ctx, field, key, pattern=_SOURCE_ID_RE)
        sources[key] = _str(ctx, f"{field}.{key}", citation)
    return sources


def cited_sources(procedure: Procedure) -> list[str]:
    """The source ids a procedure cites, each once, in the order they appear."""
    cited = [*procedure.legal_basis, *procedure.sources.values(),
             *(exemption.legal_basis for exemption in procedure.fee_exemptions)]
    return list(dict.fromkeys(cited))


def procedure_to_dict(procedure: Procedure) -> dict[str, Any]:
    """JSON-shaped dict in the procedures.json shape (plus the derived ``interagency``)."""
    return {
        "code": procedure.code,
        "name": procedure.name,
        "name_en": procedure.name_en,
        "field": procedure.field,
        "tier": procedure.tier,
        "agency_code": procedure.agency_code,
        "level": procedure.level,
        "fee_vnd": procedure.fee_vnd,
        "processing_days": procedure.processing_days,
        "interagency": procedure.interagency,
        "legal_basis": list(procedure.legal_basis),
        "sources": dict(procedure.sources),
        "source_titles": dict(procedure.source_titles),
        "fee_exemptions": [
            {"category": exemption.category, "name": exemption.name, "legal_basis": exemption.legal_basis}
            for exemption in procedure.fee_exemptions
        ],
        "form_schema": copy.deepcopy(procedure.form_schema),
        "required_documents": [
            {"id": document.id, "name": document.name, "required": document.required}
            for document in procedure.required_documents
        ],
        "templates": [{"name": template.name, "file": template.file} for template in procedure.templates],
        "route": route_to_dicts(procedure.route),
    }


def route_to_dicts(route: Sequence[RouteStep]) -> list[dict[str, Any]]:
    return [{"kind": step.kind, "agency_code": step.agency_code, "days": step.days,
             "parallel": [{"agency_code": branch.agency_code, "days": branch.days} for branch in step.parallel]}
            for step in route]


def route_from_dicts(steps: Iterable[Mapping[str, Any]]) -> tuple[RouteStep, ...]:
    return tuple(
        RouteStep(kind=step["kind"], agency_code=step["agency_code"], days=float(step["days"]),
                  parallel=tuple(ParallelBranch(agency_code=b["agency_code"], days=float(b["days"]))
                                 for b in step.get("parallel", ())))
        for step in steps)


def procedure_from_dict(data: dict[str, Any]) -> Procedure:
    """Inverse of :func:`procedure_to_dict`.

    Checks everything a procedure must satisfy on its own (shape, types, level, route
    and its days, form schema); references to agencies and sources are the catalogue's
    business. Accepts the Decimals DynamoDB returns for numbers. Raises CatalogueError.
    """
    return _read_procedure(_Ctx("<procedure>"), "", data)


def procedure_from_stored(data: dict[str, Any]) -> Procedure:
    """A procedure from an item the store wrote, built without checking it again.

    Trusted on purpose: the store writes only procedures that went through
    :func:`procedure_from_dict` (it round-trips each one when a catalogue is loaded), and a
    catalogue version never changes once written. Re-validating on every read cost a
    JSON Schema check of the form (and the jsonschema import) on each procedure request.
    """
    return Procedure(
        code=data["code"],
        name=data["name"],
        tier=data["tier"],
        agency_code=data["agency_code"],
        level=int(data["level"]),
        fee_vnd=int(data["fee_vnd"]),
        processing_days=float(data["processing_days"]),
        form_schema=data["form_schema"],
        required_documents=tuple(
            DocumentRequirement(id=d["id"], name=d["name"], required=bool(d.get("required", True)))
            for d in data["required_documents"]
        ),
        templates=tuple(FormTemplate(name=t["name"], file=t["file"]) for t in data["templates"]),
        route=route_from_dicts(data["route"]),
        name_en=data.get("name_en", ""),
        field=data.get("field", ""),
        legal_basis=tuple(data.get("legal_basis", ())),
        sources=dict(data.get("sources", {})),
        fee_exemptions=tuple(
            FeeExemption(category=e["category"], name=e["name"], legal_basis=e["legal_basis"])
            for e in data.get("fee_exemptions", ())
        ),
        source_titles=dict(data.get("source_titles", {})),
    )


# --- the catalogue ----------------------------------------------------------


def parse_catalogue(
    province: dict[str, Any],
    agencies: dict[str, Any],
    procedures: dict[str, Any],
    *,
    templates_dir: Path | None = None,
) -> Catalogue:
    """Validate a province's three data documents and build its Catalogue.

    Pure and strict: the first problem raises CatalogueError naming the file, the
    procedure (when in one) and the field; nothing is returned half-parsed. When
    ``templates_dir`` is given, every template file must exist there.
    """
    province_code, tiers = _read_province(province)
    agency_list = _read_agencies(agencies, tiers)
    by_code = {agency.code: agency for agency in agency_list}

    ctx = _Ctx(PROCEDURES_FILE)
    data = _object(ctx, "", procedures, ("sources", "procedures"), ("note",))
    if "note" in data:
        _str(ctx, "note", data["note"])
    source_titles = _read_sources(ctx, data["sources"])
    source_ids = set(source_titles)
    procedure_list: list[Procedure] = []
    seen: dict[str, int] = {}
    for index, raw_procedure in enumerate(_list(ctx, "procedures", data["procedures"])):
        procedure = _read_procedure(ctx, f"procedures[{index}]", raw_procedure)
        if procedure.code in seen:
            raise CatalogueError(
                PROCEDURES_FILE,
                "code",
                f"duplicate procedure code (also procedures[{seen[procedure.code]}])",
                procedure_code=procedure.code,
            )
        seen[procedure.code] = index
        _check_procedure_references(
            procedure, tiers=tiers, agencies=by_code, source_ids=source_ids, templates_dir=templates_dir
        )
        procedure_list.append(dataclasses.replace(
            procedure, source_titles={source: source_titles[source] for source in cited_sources(procedure)}))
    if not procedure_list:
        raise ctx.error("procedures", "at least one procedure is required")
    return Catalogue(
        province=province_code, tiers=tiers, agencies=agency_list, procedures=tuple(procedure_list)
    )


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object hook: a key given twice is an error (by default the last one wins,
    silently losing the other value)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_json(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(name, "", f"file not found in {directory}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(name, "", f"cannot read: {exc}") from None
    try:
        value = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError, and so is a duplicate key
        raise CatalogueError(name, "", f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CatalogueError(name, "", f"expected a JSON object, got {_type_name(value)}")
    return cast(dict[str, Any], value)


def load_catalogue(directory: Path) -> Catalogue:
    """Read ``province.json``, ``agencies.json`` and ``procedures.json`` from a province's folder.

    Template files are checked against its ``templates/`` subfolder.
    """
    return parse_catalogue(
        _load_json(directory, PROVINCE_FILE),
        _load_json(directory, AGENCIES_FILE),
        _load_json(directory, PROCEDURES_FILE),
        templates_dir=directory / TEMPLATES_DIR,
    )
