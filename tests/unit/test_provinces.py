"""Every province's data passes the strict catalogue parser, and provinces are independent:
no agency code is shared, and the local stack maps stages to provinces as its docstring says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.domain.catalogue import Catalogue, load_catalogue
from tools.local_stack import StackError, app_environment, resolve_stage_and_province

ROOT = Path(__file__).resolve().parents[2]
PROVINCES = ROOT / "infra" / "provinces"


def _catalogue(name: str) -> Catalogue:
    return load_catalogue(PROVINCES / name)


@pytest.mark.parametrize("name", sorted(p.name for p in PROVINCES.iterdir() if p.is_dir()))
def test_each_province_passes_the_strict_parser(name: str) -> None:
    catalogue = _catalogue(name)
    assert catalogue.province == name
    identifier = json.loads((PROVINCES / name / "province.json").read_text(encoding="utf-8"))["identifier"]
    # Every agency carries the province's identifier (Decision 20/2020/QĐ-TTg format).
    assert all(agency.code.endswith(f".{identifier}") for agency in catalogue.agencies)


def test_lamdong_and_hanoi_share_no_agency_code_and_hanoi_covers_the_issue() -> None:
    lamdong, hanoi = _catalogue("lamdong"), _catalogue("hanoi")
    assert not {a.code for a in lamdong.agencies} & {a.code for a in hanoi.agencies}
    assert 8 <= len(hanoi.procedures) <= 12
    assert {p.tier for p in hanoi.procedures} == {"province", "commune"}
    assert {p.level for p in hanoi.procedures} == {1, 2, 3, 4}
    assert any(p.interagency for p in hanoi.procedures)
    assert any(step.parallel for p in hanoi.procedures for step in p.route)
    assert any(step.kind == "payment" for p in hanoi.procedures for step in p.route)


def test_hanoi_data_says_nothing_of_lam_dong() -> None:
    folder = PROVINCES / "hanoi"
    texts = [path.read_text(encoding="utf-8") for path in (folder / "templates").iterdir()]
    texts += [json.dumps(_catalogue("hanoi").agencies, default=str, ensure_ascii=False)]
    procedures = json.loads((folder / "procedures.json").read_text(encoding="utf-8"))
    texts += [json.dumps(p, ensure_ascii=False) for p in procedures["procedures"]]
    for text in texts:
        for word in ("Lâm Đồng", "Đà Lạt", "H38"):
            assert word not in text


def test_web_front_names_no_province() -> None:
    for path in (ROOT / "web").rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8")
            assert "Lâm Đồng" not in text and "Đà Lạt" not in text, path


# -- stages locally (tools/local_stack.py) ----------------------------------------------------

def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({
        "environment_variables": {"POWERTOOLS_SERVICE_NAME": "motcua"},
        "stages": {
            "local": {"environment_variables": {
                "MOTCUA_PROVINCE": "lamdong", "MOTCUA_PROVINCE_NAME": "Tỉnh Lâm Đồng",
                "MOTCUA_TABLE_NAME": "motcua-lamdong", "MOTCUA_UPLOADS_BUCKET": "motcua-lamdong-uploads-1",
                "MOTCUA_DOCUMENTS_BUCKET": "motcua-lamdong-documents-1", "POWERTOOLS_LOG_LEVEL": "INFO"}},
            "hanoi": {"lambda_memory_size": 1024, "tags": {"province": "hanoi"}, "environment_variables": {
                "MOTCUA_PROVINCE": "hanoi", "MOTCUA_PROVINCE_NAME": "Thành phố Hà Nội",
                "MOTCUA_TABLE_NAME": "motcua-hanoi-prod", "MOTCUA_ALLOWED_ORIGINS": "https://dichvucong.example",
                "POWERTOOLS_LOG_LEVEL": "WARNING"}},
        },
    }), encoding="utf-8")
    return path


def test_stage_and_province_resolution(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert resolve_stage_and_province(None, None, config) == ("local", "lamdong")
    assert resolve_stage_and_province("hanoi", None, config) == ("hanoi", "hanoi")
    assert resolve_stage_and_province(None, "hanoi", config) == ("local", "hanoi")
    assert resolve_stage_and_province("hanoi", "hanoi", config) == ("hanoi", "hanoi")
    with pytest.raises(StackError, match="is for province 'hanoi', not 'lamdong'"):
        resolve_stage_and_province("hanoi", "lamdong", config)
    with pytest.raises(StackError, match="not in"):
        resolve_stage_and_province("nowhere", None, config)


def test_a_deployment_stage_lends_only_its_province_locally(tmp_path: Path) -> None:
    config = _config(tmp_path)
    env = app_environment("hanoi", "hanoi", "Hà Nội (province.json)", config)
    assert env["MOTCUA_PROVINCE"] == "hanoi" and env["MOTCUA_PROVINCE_NAME"] == "Thành phố Hà Nội"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"  # the local stage's settings
    assert "MOTCUA_ALLOWED_ORIGINS" not in env  # AWS-only values stay out
    for variable in ("MOTCUA_TABLE_NAME", "MOTCUA_UPLOADS_BUCKET", "MOTCUA_DOCUMENTS_BUCKET"):
        assert variable not in env  # the stack sets them from the resources it created

    alone = app_environment("local", "hanoi", "Thành phố Hà Nội", config)  # --province hanoi
    assert alone["MOTCUA_PROVINCE"] == "hanoi" and alone["MOTCUA_PROVINCE_NAME"] == "Thành phố Hà Nội"
    assert "MOTCUA_TABLE_NAME" not in alone

    default = app_environment("local", "lamdong", "unused", config)
    assert default["MOTCUA_TABLE_NAME"] == "motcua-lamdong"
    assert default["MOTCUA_PROVINCE_NAME"] == "Tỉnh Lâm Đồng"
