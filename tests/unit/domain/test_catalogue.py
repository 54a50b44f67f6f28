"""The province catalogue: the shipped Lâm Đồng data, the strict parser, dict round-trips."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalogue import (
    APPLICANT_FIELDS,
    Agency,
    Catalogue,
    CatalogueError,
    Procedure,
    agency_from_dict,
    agency_to_dict,
    cited_sources,
    load_catalogue,
    parse_catalogue,
    procedure_from_dict,
    procedure_from_stored,
    procedure_to_dict,
    route_days,
)

LAMDONG = Path(__file__).resolve().parents[3] / "infra" / "provinces" / "lamdong"
TEMPLATES = LAMDONG / "templates"

Documents = dict[str, dict[str, Any]]  # file name -> parsed JSON


# --------------------------------------------------------------------------- factories


@functools.cache
def _shipped_json(name: str) -> dict[str, Any]:
    return json.loads((LAMDONG / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def sample_documents() -> Documents:
    """Deep copies of the shipped Lâm Đồng data files, free to break."""
    return {
        name: copy.deepcopy(_shipped_json(name))
        for name in ("province.json", "agencies.json", "procedures.json")
    }


def sample_procedure(documents: Documents, code: str) -> dict[str, Any]:
    for procedure in documents["procedures.json"]["procedures"]:
        if procedure["code"] == code:
            return procedure  # type: ignore[no-any-return]
    raise AssertionError(f"no procedure {code} in the sample")


def sample_agency(documents: Documents, code: str) -> dict[str, Any]:
    for agency in documents["agencies.json"]["agencies"]:
        if agency["code"] == code:
            return agency  # type: ignore[no-any-return]
    raise AssertionError(f"no agency {code} in the sample")


def create_catalogue(documents: Documents, templates_dir: Path | None = TEMPLATES) -> Catalogue:
    return parse_catalogue(
        documents["province.json"],
        documents["agencies.json"],
        documents["procedures.json"],
        templates_dir=templates_dir,
    )


@functools.cache
def shipped_catalogue() -> Catalogue:
    return load_catalogue(LAMDONG)


# Procedures the bad-input cases break: single agency (level 4), parallel route, level 1.
BIRTH = "1.001193"
BUSINESS = "2.001610"  # reception, the fee, then the business registration office with the tax office in parallel
LEVEL1 = "2.000930"
WARD = "000.01.40.H38"  # UBND phường Xuân Hương - Đà Lạt, receives BIRTH


# --------------------------------------------------------------------------- the shipped catalogue


def test_shipped_catalogue_loads() -> None:
    catalogue = shipped_catalogue()
    assert catalogue.province == "lamdong"
    assert catalogue.tiers == ("province", "commune")


def test_shipped_catalogue_counts() -> None:
    catalogue = shipped_catalogue()
    assert len(catalogue.procedures) >= 28
    assert len(catalogue.agencies) >= 10
    assert {p.tier for p in catalogue.procedures} == {"province", "commune"}
    assert {a.tier for a in catalogue.agencies} == {"province", "commune"}
    assert {p.level for p in catalogue.procedures} == {1, 2, 3, 4}
    for tier in catalogue.tiers:
        assert {p.level for p in catalogue.procedures if p.tier == tier} == {1, 2, 3, 4}, tier
    assert sum(1 for p in catalogue.procedures if p.level == 1) >= 2
    assert sum(1 for p in catalogue.procedures if p.level == 2) >= 2
    assert sum(1 for p in catalogue.procedures if p.interagency) >= 4


def test_shipped_catalogue_has_the_named_procedures() -> None:
    by_code = {p.code: p for p in shipped_catalogue().procedures}
    birth = by_code["1.001193"]
    assert (birth.name, birth.tier, birth.level, birth.fee_vnd) == ("Đăng ký khai sinh", "commune", 4, 0)
    judicial_record = by_code["2.000488"]
    assert (judicial_record.fee_vnd, judicial_record.processing_days) == (200_000, 10)
    business = by_code["2.001610"]
    assert (business.fee_vnd, business.processing_days, business.interagency) == (50_000, 3, True)
    names = {p.name for p in by_code.values()}
    for expected in (
        "Đăng ký kết hôn",
        "Đăng ký khai tử",
        "Đăng ký thành lập hộ kinh doanh",
        "Cấp Giấy phép bán lẻ rượu",
    ):
        assert expected in names


def test_shipped_interagency_routes_span_agencies() -> None:
    interagency = [p for p in shipped_catalogue().procedures if p.interagency]
    land = next(p for p in interagency if p.code == "1.012753")
    assert [step.agency_code for step in land.route] == [
        "000.01.43.H38",  # UBND xã Đức Trọng (reception)
        "000.01.43.H38",
        "000.01.05.H38",  # Văn phòng Đăng ký đất đai
        "000.00.31.H38",  # Thuế tỉnh
        "000.00.05.H38",  # Sở Nông nghiệp và Môi trường
    ]
    assert any(step.parallel for p in interagency for step in p.route)


def test_shipped_procedures_follow_the_rules() -> None:
    catalogue = shipped_catalogue()
    agencies = {a.code: a for a in catalogue.agencies}
    for procedure in catalogue.procedures:
        assert procedure.route[0].kind == "reception"
        assert procedure.route[0].agency_code == procedure.agency_code
        assert route_days(procedure.route) == pytest.approx(procedure.processing_days)
        assert agencies[procedure.agency_code].tier == procedure.tier
        assert {"fee_vnd", "processing_days"} <= procedure.sources.keys()
        assert not APPLICANT_FIELDS & procedure.form_schema["properties"].keys()
        if procedure.level == 1:
            assert procedure.templates == ()
            assert procedure.form_schema["properties"] == {}
        else:
            assert procedure.templates


def test_shipped_agency_codes_make_dossier_codes() -> None:
    for agency in shipped_catalogue().agencies:
        assert set(agency.code) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.")
        assert agency.code.endswith(".H38")


def test_shipped_templates_are_vietnamese_forms() -> None:
    for procedure in shipped_catalogue().procedures:
        for template in procedure.templates:
            text = (TEMPLATES / template.file).read_text(encoding="utf-8")
            assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
            assert "Độc lập - Tự do - Hạnh phúc" in text
            assert "....." in text


def test_shipped_sources_are_cited_in_full() -> None:
    sources = _shipped_json("procedures.json")["sources"]
    assert "Thông tư số 244/2016/TT-BTC" in sources["tt_244_2016"]
    assert "Thông tư số 47/2019/TT-BTC" in sources["tt_47_2019"]
    assert "Nghị định số 01/2021/NĐ-CP" in sources["nd_01_2021"]


def test_parse_does_not_modify_its_input() -> None:
    documents = sample_documents()
    before = copy.deepcopy(documents)
    create_catalogue(documents)
    assert documents == before


# --------------------------------------------------------------------------- bad input

Mutation = Callable[[Documents], None]


def _set_procedure(code: str, key: str, value: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        sample_procedure(documents, code)[key] = value

    return mutate


def _del_procedure(code: str, key: str) -> Mutation:
    def mutate(documents: Documents) -> None:
        del sample_procedure(documents, code)[key]

    return mutate


def _set_step(code: str, index: int, key: str, value: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        sample_procedure(documents, code)["route"][index][key] = value

    return mutate


def _set_agency(code: str, key: str, value: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        sample_agency(documents, code)[key] = value

    return mutate


def _agency_index(code: str) -> int:
    codes = [agency["code"] for agency in _shipped_json("agencies.json")["agencies"]]
    return codes.index(code)


def _procedure_index(code: str) -> int:
    codes = [procedure["code"] for procedure in _shipped_json("procedures.json")["procedures"]]
    return codes.index(code)


def _duplicate_agency(documents: Documents) -> None:
    agencies = documents["agencies.json"]["agencies"]
    agencies.append(copy.deepcopy(agencies[0]))


def _duplicate_procedure(documents: Documents) -> None:
    procedures = documents["procedures.json"]["procedures"]
    procedures.append(copy.deepcopy(sample_procedure(documents, BIRTH)))


def _move_procedure_to_unknown_agency(documents: Documents) -> None:
    procedure = sample_procedure(documents, BIRTH)
    procedure["agency_code"] = "000.00.99.H38"
    for step in procedure["route"]:
        step["agency_code"] = "000.00.99.H38"


def _duplicate_document(documents: Documents) -> None:
    docs = sample_procedure(documents, BIRTH)["required_documents"]
    docs.append(dict(docs[0], name="Bản thứ hai"))


def _add_applicant_field(documents: Documents) -> None:
    sample_procedure(documents, BIRTH)["form_schema"]["properties"]["full_name"] = {"type": "string"}


def _unknown_tier_in_province(documents: Documents) -> None:
    documents["province.json"]["tiers"] = [{"code": "province", "name": "Cấp tỉnh"}]


def _parent_cycle(documents: Documents) -> None:
    sample_agency(documents, "000.00.00.H38")["parent_code"] = "000.00.01.H38"


def _parallel_on_reception(documents: Documents) -> None:
    sample_procedure(documents, BIRTH)["route"][0]["parallel"] = [
        {"agency_code": "000.00.31.H38", "days": 0.5}
    ]


def _unknown_branch_agency(documents: Documents) -> None:
    sample_procedure(documents, BUSINESS)["route"][2]["parallel"][0]["agency_code"] = "000.00.98.H38"


def _negative_branch_days(documents: Documents) -> None:
    sample_procedure(documents, BUSINESS)["route"][2]["parallel"][0]["days"] = -1


def _drop_fee_source(documents: Documents) -> None:
    del sample_procedure(documents, BIRTH)["sources"]["fee_vnd"]


def _unknown_schema_keyword_value(documents: Documents) -> None:
    sample_procedure(documents, BIRTH)["form_schema"]["properties"]["child_gender"]["type"] = "text"


def _top_level_key(name: str) -> Mutation:
    def mutate(documents: Documents) -> None:
        documents[name]["colour"] = "blue"

    return mutate


# (id, mutation, file, procedure code or None, field)
BAD_INPUTS: list[tuple[str, Mutation, str, str | None, str]] = [
    ("province unknown key", _top_level_key("province.json"), "province.json", None, "colour"),
    ("agencies unknown key", _top_level_key("agencies.json"), "agencies.json", None, "colour"),
    ("procedures unknown key", _top_level_key("procedures.json"), "procedures.json", None, "colour"),
    ("procedure unknown key", _set_procedure(BIRTH, "colour", "blue"), "procedures.json", BIRTH, "colour"),
    (
        "agency unknown key",
        _set_agency(WARD, "colour", "blue"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].colour",
    ),
    ("level as string", _set_procedure(BIRTH, "level", "4"), "procedures.json", BIRTH, "level"),
    ("level as bool", _set_procedure(BIRTH, "level", True), "procedures.json", BIRTH, "level"),
    ("fee as bool", _set_procedure(BIRTH, "fee_vnd", False), "procedures.json", BIRTH, "fee_vnd"),
    ("fee as float", _set_procedure(BIRTH, "fee_vnd", 1.5), "procedures.json", BIRTH, "fee_vnd"),
    ("name as number", _set_procedure(BIRTH, "name", 7), "procedures.json", BIRTH, "name"),
    (
        "days as bool",
        _set_procedure(BIRTH, "processing_days", True),
        "procedures.json",
        BIRTH,
        "processing_days",
    ),
    ("missing route", _del_procedure(BIRTH, "route"), "procedures.json", BIRTH, "route"),
    ("missing form schema", _del_procedure(BIRTH, "form_schema"), "procedures.json", BIRTH, "form_schema"),
    (
        "missing agency tier",
        lambda d: sample_agency(d, WARD).pop("tier"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].tier",
    ),
    (
        "duplicate agency code",
        _duplicate_agency,
        "agencies.json",
        None,
        f"agencies[{len(_shipped_json('agencies.json')['agencies'])}].code",
    ),
    ("duplicate procedure code", _duplicate_procedure, "procedures.json", BIRTH, "code"),
    (
        "agency tier not in province",
        _set_agency(WARD, "tier", "district"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].tier",
    ),
    (
        "province drops a tier",
        _unknown_tier_in_province,
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].tier",  # the first commune-tier agency
    ),
    ("procedure tier unknown", _set_procedure(BIRTH, "tier", "district"), "procedures.json", BIRTH, "tier"),
    (
        "procedure tier differs from its agency's",
        _set_procedure(BIRTH, "tier", "province"),
        "procedures.json",
        BIRTH,
        "tier",
    ),
    ("unknown receiving agency", _move_procedure_to_unknown_agency, "procedures.json", BIRTH, "agency_code"),
    (
        "unknown route agency",
        _set_step(BIRTH, 1, "agency_code", "000.00.99.H38"),
        "procedures.json",
        BIRTH,
        "route[1].agency_code",
    ),
    (
        "unknown parallel agency",
        _unknown_branch_agency,
        "procedures.json",
        BUSINESS,
        "route[2].parallel[0].agency_code",
    ),
    (
        "unknown parent agency",
        _set_agency(WARD, "parent_code", "000.00.97.H38"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].parent_code",
    ),
    ("parent cycle", _parent_cycle, "agencies.json", None, "agencies[0].parent_code"),
    ("level 0", _set_procedure(BIRTH, "level", 0), "procedures.json", BIRTH, "level"),
    ("level 5", _set_procedure(BIRTH, "level", 5), "procedures.json", BIRTH, "level"),
    ("negative fee", _set_procedure(BIRTH, "fee_vnd", -1), "procedures.json", BIRTH, "fee_vnd"),
    (
        "zero processing days",
        _set_procedure(BIRTH, "processing_days", 0),
        "procedures.json",
        BIRTH,
        "processing_days",
    ),
    ("zero step days", _set_step(BIRTH, 1, "days", 0), "procedures.json", BIRTH, "route[1].days"),
    (
        "negative branch days",
        _negative_branch_days,
        "procedures.json",
        BUSINESS,
        "route[2].parallel[0].days",
    ),
    ("empty route", _set_procedure(BIRTH, "route", []), "procedures.json", BIRTH, "route"),
    (
        "route starts with processing",
        _set_step(BIRTH, 0, "kind", "processing"),
        "procedures.json",
        BIRTH,
        "route[0].kind",
    ),
    ("unknown step kind", _set_step(BIRTH, 1, "kind", "approval"), "procedures.json", BIRTH, "route[1].kind"),
    (
        "reception at another agency",
        _set_step(BIRTH, 0, "agency_code", "000.02.40.H38"),
        "procedures.json",
        BIRTH,
        "route[0].agency_code",
    ),
    ("reception with branches", _parallel_on_reception, "procedures.json", BIRTH, "route[0].parallel"),
    ("days do not add up", _set_procedure(BIRTH, "processing_days", 2), "procedures.json", BIRTH, "route"),
    (
        "parallel days do not add up",
        _set_procedure(BUSINESS, "processing_days", 4),
        "procedures.json",
        BUSINESS,
        "route",
    ),
    (
        "unknown legal basis",
        _set_procedure(BIRTH, "legal_basis", ["luat_khong_co"]),
        "procedures.json",
        BIRTH,
        "legal_basis[0]",
    ),
    (
        "unknown value source",
        _set_procedure(BIRTH, "sources", {"fee_vnd": "luat_khong_co", "processing_days": "assumed"}),
        "procedures.json",
        BIRTH,
        "sources.fee_vnd",
    ),
    ("unsourced fee", _drop_fee_source, "procedures.json", BIRTH, "sources.fee_vnd"),
    (
        "invalid JSON Schema",
        _unknown_schema_keyword_value,
        "procedures.json",
        BIRTH,
        "form_schema.properties.child_gender.type",
    ),
    (
        "schema not an object",
        _set_procedure(BIRTH, "form_schema", {"type": "string"}),
        "procedures.json",
        BIRTH,
        "form_schema.type",
    ),
    (
        "schema allows extra properties",
        _set_procedure(BIRTH, "form_schema", {"type": "object", "properties": {}}),
        "procedures.json",
        BIRTH,
        "form_schema.additionalProperties",
    ),
    (
        "schema as a list",
        _set_procedure(BIRTH, "form_schema", []),
        "procedures.json",
        BIRTH,
        "form_schema",
    ),
    (
        "applicant identity in the form",
        _add_applicant_field,
        "procedures.json",
        BIRTH,
        "form_schema.properties.full_name",
    ),
    ("duplicate document id", _duplicate_document, "procedures.json", BIRTH, "required_documents[4].id"),
    (
        "level 4 without templates",
        _set_procedure(BIRTH, "templates", []),
        "procedures.json",
        BIRTH,
        "templates",
    ),
    (
        "level 1 with templates",
        _set_procedure(LEVEL1, "templates", [{"name": "Mẫu", "file": "1.001193-to-khai-khai-sinh.txt"}]),
        "procedures.json",
        LEVEL1,
        "templates",
    ),
    (
        "template file missing",
        _set_procedure(BIRTH, "templates", [{"name": "Tờ khai", "file": "khong-co.txt"}]),
        "procedures.json",
        BIRTH,
        "templates[0].file",
    ),
    (
        "template path escapes the folder",
        _set_procedure(BIRTH, "templates", [{"name": "Tờ khai", "file": "../agencies.json"}]),
        "procedures.json",
        BIRTH,
        "templates[0].file",
    ),
    (
        "agency code with lower case",
        _set_agency(WARD, "code", "000.01.40.h38"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].code",
    ),
    (
        "agency code with a dash",
        _set_agency(WARD, "code", "000-01-40-H38"),
        "agencies.json",
        None,
        f"agencies[{_agency_index(WARD)}].code",
    ),
    (
        "procedure without a usable code",
        lambda d: sample_procedure(d, BIRTH).__setitem__("code", ""),
        "procedures.json",
        None,
        f"procedures[{_procedure_index(BIRTH)}].code",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "file", "procedure_code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS],
)
def test_bad_input_is_rejected_naming_file_procedure_and_field(
    mutate: Mutation, file: str, procedure_code: str | None, field: str
) -> None:
    documents = sample_documents()
    mutate(documents)
    with pytest.raises(CatalogueError) as caught:
        create_catalogue(documents)
    error = caught.value
    assert (error.file, error.procedure_code, error.field) == (file, procedure_code, field), str(error)
    assert error.message
    text = str(error)
    assert text.startswith(f"{file}: ")
    assert field in text
    if procedure_code is not None:
        assert f"procedure {procedure_code}" in text


def test_error_text_names_file_procedure_and_field() -> None:
    documents = sample_documents()
    _set_step(BIRTH, 1, "agency_code", "000.00.99.H38")(documents)
    with pytest.raises(CatalogueError) as caught:
        create_catalogue(documents)
    assert str(caught.value) == (
        "procedures.json: procedure 1.001193: route[1].agency_code: unknown agency '000.00.99.H38'"
    )
    assert isinstance(caught.value, ValueError)


def test_template_files_are_checked_only_when_a_folder_is_given() -> None:
    documents = sample_documents()
    _set_procedure(BIRTH, "templates", [{"name": "Tờ khai", "file": "khong-co.txt"}])(documents)
    catalogue = create_catalogue(documents, templates_dir=None)
    assert len(catalogue.procedures) == len(shipped_catalogue().procedures)


def _write_documents(directory: Path, documents: Documents) -> None:
    for name, data in documents.items():
        (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (directory / "templates").symlink_to(TEMPLATES)


def test_load_catalogue_reads_a_folder(tmp_path: Path) -> None:
    _write_documents(tmp_path, sample_documents())
    assert load_catalogue(tmp_path) == shipped_catalogue()


def test_load_catalogue_reports_a_missing_file(tmp_path: Path) -> None:
    _write_documents(tmp_path, sample_documents())
    (tmp_path / "agencies.json").unlink()
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    assert caught.value.file == "agencies.json"


def test_load_catalogue_reports_invalid_json(tmp_path: Path) -> None:
    _write_documents(tmp_path, sample_documents())
    (tmp_path / "procedures.json").write_text('{"sources": {}, "procedures": [', encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    assert caught.value.file == "procedures.json"
    assert "invalid JSON" in caught.value.message


def test_load_catalogue_rejects_duplicate_json_keys(tmp_path: Path) -> None:
    _write_documents(tmp_path, sample_documents())
    (tmp_path / "province.json").write_text(
        '{"code": "lamdong", "code": "dalat", "name": "Tỉnh Lâm Đồng", "tiers": []}', encoding="utf-8"
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(tmp_path)
    assert caught.value.file == "province.json"
    assert "duplicate key 'code'" in caught.value.message


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("procedure", shipped_catalogue().procedures, ids=lambda p: p.code)
def test_procedure_round_trip(procedure: Procedure) -> None:
    data = procedure_to_dict(procedure)
    assert json.loads(json.dumps(data)) == data  # JSON-shaped
    assert data["interagency"] == procedure.interagency
    assert procedure_from_dict(data) == procedure
    assert procedure_from_dict(json.loads(json.dumps(data))) == procedure
    # What readers build from a stored item, unchecked: the same procedure, to the types.
    stored = procedure_from_stored(json.loads(json.dumps(data)))
    assert stored == procedure and type(stored.processing_days) is float
    assert all(type(step.days) is float for step in stored.route)


def _as_dynamodb(value: Any) -> Any:
    """Numbers the way boto3's DynamoDB deserializer returns them."""
    if isinstance(value, dict):
        return {key: _as_dynamodb(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_dynamodb(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def test_procedure_from_dict_accepts_dynamodb_decimals() -> None:
    procedure = next(p for p in shipped_catalogue().procedures if p.code == "2.000488")
    restored = procedure_from_dict(_as_dynamodb(procedure_to_dict(procedure)))
    assert restored == procedure
    assert type(restored.level) is int
    assert type(restored.fee_vnd) is int
    assert type(restored.processing_days) is float
    assert type(restored.form_schema["properties"]["copies"]["minimum"]) is int


def test_procedure_from_dict_rejects_bad_data() -> None:
    data = procedure_to_dict(shipped_catalogue().procedures[0])
    data["level"] = 9
    with pytest.raises(CatalogueError) as caught:
        procedure_from_dict(data)
    assert (caught.value.procedure_code, caught.value.field) == (data["code"], "level")


@pytest.mark.parametrize("agency", shipped_catalogue().agencies, ids=lambda a: a.code)
def test_agency_round_trip(agency: Agency) -> None:
    data = agency_to_dict(agency)
    assert json.loads(json.dumps(data)) == data
    assert agency_from_dict(data) == agency


def test_agency_round_trip_with_webhook() -> None:
    agency = Agency(
        code="000.00.03.H38",
        name="Sở Tư pháp tỉnh Lâm Đồng",
        tier="province",
        name_en="Department of Justice",
        parent_code="000.00.00.H38",
        webhook_url="https://agency.example/hooks/motcua",
    )
    assert agency_from_dict(agency_to_dict(agency)) == agency


def test_agency_from_dict_rejects_bad_data() -> None:
    with pytest.raises(CatalogueError) as caught:
        agency_from_dict({"code": "000.00.03.H38", "name": "Sở Tư pháp", "tier": "province", "extra": 1})
    assert caught.value.field == "extra"


def test_fee_waits_are_named_by_the_route_and_not_counted_as_processing() -> None:
    catalogue = create_catalogue(sample_documents())
    business = next(p for p in catalogue.procedures if p.code == BUSINESS)
    assert [step.kind for step in business.route] == ["reception", "payment", "processing"]
    assert route_days(business.route) == business.processing_days  # the 5 days to pay are the citizen's
    free = [p for p in catalogue.procedures if p.fee_vnd == 0 or p.level < 4]
    assert free and all(step.kind != "payment" for p in free for step in p.route)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda p: p.update(level=3), "route[1].kind", "only a level 4 procedure with a fee"),
        (lambda p: p.update(fee_vnd=0), "route[1].kind", "only a level 4 procedure with a fee"),
        (lambda p: p["route"].insert(2, dict(p["route"][1])), "route[2].kind", "waits for its fee once"),
        (lambda p: p["route"][1].update(parallel=[{"agency_code": p["route"][2]["parallel"][0]["agency_code"],
                                                   "days": 1}]),
         "route[1].parallel", "a payment step has no parallel branches"),
    ],
)
def test_bad_fee_waits_are_refused(change: Any, field: str, message: str) -> None:
    documents = sample_documents()
    change(sample_procedure(documents, BUSINESS))
    with pytest.raises(CatalogueError) as raised:
        create_catalogue(documents)
    assert raised.value.procedure_code == BUSINESS
    assert raised.value.field == field
    assert message in raised.value.message


# --------------------------------------------------------------------------- fee exemptions

JUDICIAL_RECORD = "2.000488"  # level 4, 200,000 VND, exemptions of Circular 244/2016/TT-BTC


def test_shipped_fee_exemptions_name_their_legal_basis() -> None:
    catalogue = shipped_catalogue()
    exempting = {p.code: p for p in catalogue.procedures if p.fee_exemptions}
    assert {"2.000488", "1.004222", "1.004194"} <= set(exempting)
    assert {e.legal_basis for e in exempting["2.000488"].fee_exemptions} == {"tt_244_2016"}
    assert {e.legal_basis for e in exempting["1.004222"].fee_exemptions} == {"tt_75_2022"}
    for procedure in exempting.values():
        assert procedure.fee_vnd > 0
        assert all(e.legal_basis in procedure.legal_basis for e in procedure.fee_exemptions)
        assert {"child", "poor_household"} <= {e.category for e in procedure.fee_exemptions}
    residence = exempting["1.004222"]
    found = residence.fee_exemption("meritorious_service")
    assert found is not None and "người có công với cách mạng" in found.name.lower()
    assert residence.fee_exemption("nobody") is None


def test_fee_exemptions_are_optional_and_round_trip() -> None:
    documents = sample_documents()
    sample_procedure(documents, BIRTH).pop("fee_exemptions", None)
    birth = next(p for p in create_catalogue(documents).procedures if p.code == BIRTH)
    assert birth.fee_exemptions == () and procedure_to_dict(birth)["fee_exemptions"] == []
    judicial = next(p for p in shipped_catalogue().procedures if p.code == JUDICIAL_RECORD)
    data = procedure_to_dict(judicial)
    assert data["fee_exemptions"][0] == {"category": "child", "name": judicial.fee_exemptions[0].name,
                                         "legal_basis": "tt_244_2016"}
    assert procedure_from_dict(data) == judicial
    # A procedure stored before fee exemptions existed reads back without any.
    del data["fee_exemptions"]
    assert procedure_from_dict(data).fee_exemptions == ()


def _exemption(**overrides: Any) -> dict[str, Any]:
    return {"category": "war_invalid", "name": "Thương binh", "legal_basis": "tt_244_2016", **overrides}


@pytest.mark.parametrize(
    ("exemptions", "field", "message"),
    [
        pytest.param("child", "fee_exemptions", "expected an array", id="not a list"),
        pytest.param(["child"], "fee_exemptions[0]", "expected an object", id="item not an object"),
        pytest.param([_exemption(colour="blue")], "fee_exemptions[0].colour", "unknown field", id="unknown key"),
        pytest.param([{"category": "x", "name": "X"}], "fee_exemptions[0].legal_basis", "missing",
                     id="no legal basis"),
        pytest.param([_exemption(category="WarInvalid")], "fee_exemptions[0].category", "does not match",
                     id="category not snake_case"),
        pytest.param([_exemption(category="")], "fee_exemptions[0].category", "must not be empty",
                     id="empty category"),
        pytest.param([_exemption(name=" ")], "fee_exemptions[0].name", "must not be empty", id="empty name"),
        pytest.param([_exemption(name=3)], "fee_exemptions[0].name", "expected a string", id="name not a string"),
        pytest.param([_exemption(), _exemption(name="Thương binh hạng 1/4")], "fee_exemptions[1].category",
                     "duplicate category 'war_invalid'", id="duplicate category"),
        pytest.param([_exemption(legal_basis="tt_999_2099")], "fee_exemptions[0].legal_basis",
                     "unknown source 'tt_999_2099'", id="unknown source"),
        pytest.param([_exemption(legal_basis="Thông tư 244")], "fee_exemptions[0].legal_basis",
                     "does not match", id="source id malformed"),
    ],
)
def test_bad_fee_exemptions_are_refused(exemptions: Any, field: str, message: str) -> None:
    documents = sample_documents()
    sample_procedure(documents, JUDICIAL_RECORD)["fee_exemptions"] = exemptions
    with pytest.raises(CatalogueError) as raised:
        create_catalogue(documents)
    assert (raised.value.file, raised.value.procedure_code, raised.value.field) == (
        "procedures.json", JUDICIAL_RECORD, field), str(raised.value)
    assert message in raised.value.message


def test_fee_exemptions_only_on_a_procedure_with_a_fee() -> None:
    documents = sample_documents()
    sample_procedure(documents, BIRTH)["fee_exemptions"] = [_exemption()]
    with pytest.raises(CatalogueError) as raised:
        create_catalogue(documents)
    assert (raised.value.procedure_code, raised.value.field) == (BIRTH, "fee_exemptions")
    assert "fee_vnd > 0" in raised.value.message
    # The same rule holds for a procedure read back on its own (the store's path).
    data = procedure_to_dict(next(p for p in shipped_catalogue().procedures if p.code == BIRTH))
    data["fee_exemptions"] = [_exemption()]
    with pytest.raises(CatalogueError) as raised:
        procedure_from_dict(data)
    assert raised.value.field == "fee_exemptions"


def test_each_procedure_carries_the_titles_of_the_texts_it_cites() -> None:
    raw = json.loads((LAMDONG / "procedures.json").read_text(encoding="utf-8"))
    for procedure in shipped_catalogue().procedures:
        assert list(procedure.source_titles) == cited_sources(procedure)
        assert set(procedure.legal_basis) <= set(procedure.source_titles)
        assert {source: raw["sources"][source] for source in procedure.source_titles} == procedure.source_titles
        assert procedure_from_dict(procedure_to_dict(procedure)).source_titles == procedure.source_titles
    with_exemption = next(p for p in shipped_catalogue().procedures if p.fee_exemptions)
    assert with_exemption.fee_exemptions[0].legal_basis in with_exemption.source_titles
