"""The demo province's catalogue, loaded as the local stack loads it, browsed through the API."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.domain.catalogue import CatalogueError
from chalicelib.services.catalogue import load_province
from chalicelib.store import models as m
from tests.conftest import LAMDONG


@pytest.fixture
def sample_province(aws: dict[str, str]) -> None:
    load_province(LAMDONG)


def get(api: Any, path: str) -> tuple[int, Any]:
    response = api.http.get(path)
    return response.status_code, json.loads(response.body)


def all_codes(api: Any, query: str) -> list[str]:
    codes: list[str] = []
    cursor = ""
    for _ in range(20):
        status, page = get(api, f"/procedures?{query}&limit=7{cursor}")
        assert status == 200, page
        codes.extend(item["code"] for item in page["items"])
        if not page["next_cursor"]:
            return codes
        cursor = f"&cursor={page['next_cursor']}"
    raise AssertionError("pagination did not end")


def test_paging_walks_the_whole_catalogue_once(api: Any, sample_province: None) -> None:
    codes = all_codes(api, "tier=")
    procedures = json.loads((LAMDONG / "procedures.json").read_text(encoding="utf-8"))["procedures"]
    assert sorted(codes) == sorted(p["code"] for p in procedures)
    assert len(codes) == len(set(codes)) >= 25


def test_filters_by_level_tier_and_agency(api: Any, sample_province: None) -> None:
    status, page = get(api, "/procedures?level=1&limit=100")
    assert status == 200
    assert page["items"] and {item["level"] for item in page["items"]} == {1}
    _, commune = get(api, "/procedures?tier=commune&limit=100")
    assert commune["items"] and {item["tier"] for item in commune["items"]} == {"commune"}
    agency = commune["items"][0]["agency_code"]
    _, by_agency = get(api, f"/procedures?agency={agency}&tier=commune&limit=100")
    assert {item["agency_code"] for item in by_agency["items"]} == {agency}
    _, none = get(api, "/procedures?agency=000.99.99.H38")
    assert none == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("q", ["khai sinh", "Khai Sinh", "KHAI SINH", "khai%20sinh", "Đăng ký khai sinh",
                               "dang ky khai sinh"])
def test_free_text_ignores_case_and_diacritics(api: Any, sample_province: None, q: str) -> None:
    status, page = get(api, f"/procedures?q={q}&limit=100")
    assert status == 200
    codes = [item["code"] for item in page["items"]]
    assert "1.001193" in codes
    assert all("khai sinh" in item["name"].lower() for item in page["items"])


def test_procedure_detail_has_schema_documents_templates_and_route(api: Any, sample_province: None) -> None:
    status, detail = get(api, "/procedures/1.001193")
    assert status == 200
    assert detail["name"] == "Đăng ký khai sinh"
    assert detail["form_schema"]["type"] == "object"
    assert {"id": "to_khai", "required": True}.items() <= detail["required_documents"][0].items()
    assert detail["route"][0]["kind"] == "reception"
    assert detail["route"][0]["name"] == "Ủy ban nhân dân phường Xuân Hương - Đà Lạt"
    assert detail["templates"]
    # The template link is a presigned GET that serves the file from the province's folder, and
    # says until when (the setting's 15 minutes), so that a page left open can ask again.
    template = detail["templates"][0]
    left = datetime.fromisoformat(template["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    assert template["expires_at"].endswith("+07:00")
    downloaded = requests.get(template["url"], timeout=10)
    assert downloaded.status_code == 200
    procedures = json.loads((LAMDONG / "procedures.json").read_text(encoding="utf-8"))["procedures"]
    files = [t["file"] for p in procedures if p["code"] == "1.001193" for t in p["templates"]]
    assert downloaded.content == (LAMDONG / "templates" / files[0]).read_bytes()


def test_level_one_has_no_templates_and_no_online_submission(api: Any, sample_province: None) -> None:
    _, page = get(api, "/procedures?level=1&limit=1")
    status, detail = get(api, f"/procedures/{page['items'][0]['code']}")
    assert status == 200
    assert detail["templates"] == []
    assert detail["online_submission"] is False


def test_interagency_procedures_are_flagged(api: Any, sample_province: None) -> None:
    _, page = get(api, "/procedures?limit=100")
    interagency = [item for item in page["items"] if item["interagency"]]
    assert len(interagency) >= 3
    status, detail = get(api, f"/procedures/{interagency[0]['code']}")
    assert status == 200
    agencies = {step["agency_code"] for step in detail["route"]}
    agencies.update(b["agency_code"] for step in detail["route"] for b in step["parallel"])
    assert len(agencies) > 1


def test_unknown_procedure_is_404(api: Any, sample_province: None) -> None:
    status, body = get(api, "/procedures/9.999999")
    assert status == 404
    assert body["error"]["code"] == "procedure_not_found"


def test_reloading_the_province_changes_nothing(aws: dict[str, str]) -> None:
    load_province(LAMDONG)
    first = sorted((i.pk, json.dumps(getattr(i, "body", None), sort_keys=True))
                   for i in m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))
    load_province(LAMDONG)
    second = sorted((i.pk, json.dumps(getattr(i, "body", None), sort_keys=True))
                    for i in m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))
    assert first == second


def test_a_bad_catalogue_is_rejected_and_nothing_is_loaded(aws: dict[str, str], tmp_path: Path) -> None:
    import boto3

    broken = tmp_path / "broken"
    shutil.copytree(LAMDONG, broken)
    data = json.loads((broken / "procedures.json").read_text(encoding="utf-8"))
    victim = data["procedures"][-1]
    victim["route"][0]["agency_code"] = "000.00.99.H38"
    (broken / "procedures.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_province(broken)
    message = str(raised.value)
    assert "procedures.json" in message and victim["code"] in message and "route[0].agency_code" in message
    assert list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES)) == []
    listed = boto3.client("s3").list_objects_v2(Bucket=aws["DocumentsBucketName"])
    assert listed.get("KeyCount", 0) == 0


def test_config_gives_the_password_rules_of_the_pool_as_cognito_has_them(
    api: Any, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    cognito = boto3.client("cognito-idp")
    cognito.update_user_pool(UserPoolId=aws["CitizenUserPoolId"], Policies={"PasswordPolicy": {
        "MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": False, "RequireNumbers": True,
        "RequireSymbols": True}})
    config = json.loads(api.http.get("/config").body)
    assert config["cognito"]["password_policy"] == {
        "min_length": 12, "require_lowercase": True, "require_uppercase": False, "require_numbers": True,
        "require_symbols": True}


def test_config_leaves_the_rules_out_when_cognito_cannot_say(api: Any, aws: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_COGNITO_USER_POOL_ID", "ap-southeast-1_doesnotexist")
    response = api.http.get("/config")
    assert response.status_code == 200
    assert "password_policy" not in json.loads(response.body)["cognito"]
