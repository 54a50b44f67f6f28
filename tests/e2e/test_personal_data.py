"""Personal data never reaches the logs (Decree 13/2023): a whole journey over HTTP with distinctive
personal data, then a scan of what the stack (the API under chalice local, the queue pump, the
workers it calls) wrote meanwhile, for each value in every spelling a log line could give it."""

from __future__ import annotations

import json
import random
import string
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
import requests

from tests.e2e.conftest import StackProcess
from tests.e2e.journey_support import TIMEOUT, Agency, api, sign_up, submit, upload
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

PROCEDURE = "2.000488"  # judicial record certificate: level 4, a fee, reception → payment → processing


def _letters(count: int) -> str:
    return "".join(random.choice("abcdeghiklmnopqrstuvxy") for _ in range(count))


def _digits(count: int) -> str:
    return "".join(random.choice(string.digits) for _ in range(count))


@dataclass(frozen=True)
class Person:
    """A citizen whose every value is unique to this run, so that any hit in the logs is theirs."""

    full_name: str
    id_number: str
    phone: str
    email: str
    address: str
    father: str
    mother: str
    birth_place: str

    @classmethod
    def invent(cls) -> Person:
        token = _letters(7).capitalize()
        return cls(
            full_name=f"Trần Thị Ngọc Khuê {token}",
            id_number=f"068{_digits(9)}",
            phone=f"09{_digits(8)}",
            email=f"khue.{_letters(6)}.{_digits(4)}@example.vn",
            address=f"Số {_digits(3)}/{_digits(2)} đường Phù Đổng Thiên Vương, phường Lâm Viên - Đà Lạt",
            father=f"Trần Văn Đức {_letters(6).capitalize()}",
            mother=f"Lê Thị Hường {_letters(6).capitalize()}",
            birth_place=f"Xã Đạ Sar {_letters(5).capitalize()}, huyện Lạc Dương",
        )

    def values(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}


def _fold(text: str) -> str:
    """Without diacritics, as an S3 key or a careless ``unidecode`` would write it."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def spellings(value: str) -> set[str]:
    """The forms in which ``value`` could show in a log line."""
    forms = {value, unicodedata.normalize("NFD", value), value.lower()}
    escaped = json.dumps(value)[1:-1]  # \u1ea7n, as json.dumps(ensure_ascii=True) writes it
    forms |= {escaped, escaped.replace("\\u", "\\U"), _upper_hex_escapes(escaped)}
    forms |= {quote(value), quote(value, safe=""), quote_plus(value), quote(value).lower()}
    forms.add(str(value.encode("utf-8"))[2:-1])  # repr of the UTF-8 bytes: \xe1\xba\xa7
    folded = _fold(value)
    forms |= {folded, folded.replace(" ", "-"), folded.replace(" ", "_")}
    if value.startswith("0") and value[1:].isdigit() and len(value) == 10:  # a phone number
        forms |= {f"+84{value[1:]}", f"84{value[1:]}", quote(f"+84{value[1:]}", safe="")}
    return {form for form in forms if len(form) >= 6}


def _upper_hex_escapes(escaped: str) -> str:
    parts = escaped.split("\\u")
    return parts[0] + "".join("\\u" + part[:4].upper() + part[4:] for part in parts[1:])


def signatures(url: str) -> set[str]:
    """The secret parts of a presigned URL's query (SigV4 or SigV2)."""
    query = parse_qs(urlsplit(url).query)
    return {value for name in ("X-Amz-Signature", "Signature") for value in query.get(name, [])}


def log_since(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", errors="replace")


def access_lines(section: str) -> list[dict[str, Any]]:
    """The API's JSON access-log lines (Powertools) in a section of the stack's log."""
    lines = []
    for line in section.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("message") == "request":
                lines.append(record)
    return lines


def leaks(section: str, secrets: Mapping[str, Iterable[str]]) -> list[str]:
    found = []
    for what, forms in secrets.items():
        for form in forms:
            if form and form in section:
                line = next(line for line in section.splitlines() if form in line)
                found.append(f"{what} as {form!r} in: {line[:300]}")
    return found


def test_spellings_cover_escaped_encoded_and_folded_forms() -> None:
    forms = spellings("Trần Khuê")
    assert {"Trần Khuê", "Tr\\u1ea7n Khu\\u00ea", "Tr\\u1EA7n Khu\\u00EA", "Tr%E1%BA%A7n%20Khu%C3%AA",
            "Tr%E1%BA%A7n+Khu%C3%AA", "Tran Khue", "Tran-Khue"} <= forms
    assert {"+84912345678", "84912345678"} <= spellings("0912345678")
    assert signatures("http://s3/b/k?X-Amz-Credential=c&X-Amz-Signature=abc123") == {"abc123"}
    assert leaks("a\nline with Tran-Khue inside\n", {"name": forms}) == [
        "name as 'Tran-Khue' in: line with Tran-Khue inside"]


def test_a_full_journey_leaves_no_personal_data_in_the_stack_log(local_stack: dict[str, Any],
                                                                 local_stack_process: StackProcess) -> None:
    log_path = local_stack_process.log_path
    offset = log_path.stat().st_size
    person = Person.invent()
    marker = f"MOTCUA-PERSONAL-MARKER-{uuid.uuid4().hex}"
    result_marker = f"MOTCUA-RESULT-MARKER-{uuid.uuid4().hex}"
    comment = f"Cán bộ hỗ trợ tận tình, cảm ơn {_letters(8)}"
    token = sign_up(local_stack, person.email, "Khue-Journey-2026", name=person.full_name)

    # Upload a scan of the ID card whose content carries the marker (and the ID number), then submit.
    def documents(detail: dict[str, Any]) -> dict[str, bytes]:
        required = [doc["id"] for doc in detail["required_documents"] if doc["required"]]
        return {doc_id: f"%PDF-1.4 {marker} CCCD {person.id_number} {person.full_name}".encode()
                for doc_id in required}

    journey, tickets = submit(local_stack, token, PROCEDURE, applicant={
        "full_name": person.full_name, "id_number": person.id_number, "phone": person.phone,
        "email": person.email, "address": person.address,
    }, form={
        "certificate_type": "Phiếu lý lịch tư pháp số 1", "purpose": "Bổ sung hồ sơ xin việc",
        "copies": 1, "birth_place": person.birth_place, "father_full_name": person.father,
        "mother_full_name": person.mother,
        "residence_history": [{"from": "2004-01-01", "address": person.address}],
    }, documents=documents)
    code = journey.code
    assert journey.detail["fee_vnd"] > 0

    # The owner reads it back.
    full = api(local_stack, "GET", f"/dossiers/{code}", token)
    assert full.status_code == 200 and full.json()["applicant"]["id_number"] == person.id_number
    assert code in [item["code"] for item in api(local_stack, "GET", "/dossiers", token).json()["items"]]

    # The desk receives it (reading the dossier in its inbox), the citizen pays, the police decide.
    route = journey.detail["route"]
    desk = Agency.of(local_stack, route[0]["agency_code"])
    task = journey.open_task(desk, "reception")
    assert task["dossier"]["applicant"]["id_number"] == person.id_number
    journey.decide(desk, task, "receive")
    journey.wait_status(6)
    assert requests.get(journey.receipt_url(), timeout=TIMEOUT).status_code == 200  # slip 01, presigned
    payment = journey.pay()
    journey.wait_status(4)
    processing = Agency.of(local_stack, route[-1]["agency_code"])
    last = journey.open_task(processing, "processing")
    result = f"%PDF-1.4 Phiếu lý lịch tư pháp số 1 {result_marker} {person.full_name}".encode()
    result_ticket = upload(local_stack, processing.api_key, result, "phieu-lltp.pdf", dossier_code=code)
    journey.decide(processing, last, "approve", result_upload_id=result_ticket.upload_id,
                   note="Đã xác minh, không có án tích")
    assert requests.get(journey.result_url(), timeout=TIMEOUT).content == result
    journey.wait_status(10)
    journey.rate(5, comment)
    tracked = journey.track()
    assert tracked["status_code"] == 10 and person.id_number not in json.dumps(tracked)

    # Positive control: the section read is this journey's output; wait until its last line is written.
    def section_with_last_request() -> str | None:
        section = log_since(log_path, offset)
        return section if f"GET /track/{code} " in section else None

    section = wait_for(section_with_last_request)
    routes = {(line.get("method"), line.get("route"), line.get("status")) for line in access_lines(section)}
    assert {("POST", "/dossiers", 201), ("POST", "/dossiers/{code}/payment", 200),
            ("POST", "/agency/tasks/{task_id}/decision", 200), ("POST", "/webhooks/stripe", 200),
            ("POST", "/dossiers/{code}/rating", 201), ("GET", "/track/{code}", 200)} <= routes, routes

    secrets: dict[str, set[str]] = {name: spellings(value) for name, value in person.values().items()}
    for part, value in (("name token", person.full_name.rsplit(" ", 1)[1]),
                        ("father token", person.father.rsplit(" ", 1)[1]),
                        ("mother token", person.mother.rsplit(" ", 1)[1])):
        secrets[part] = spellings(value)
    secrets["document marker"] = {marker}
    secrets["result marker"] = {result_marker}
    secrets["rating comment"] = spellings(comment)
    secrets["ID token"] = {token, token.split(".")[2]}
    secrets["payment client secret"] = {payment["client_secret"]}
    secrets["upload signatures and policies"] = {
        value for ticket in (*tickets, result_ticket) for name, value in ticket.fields.items()
        if name.lower() in ("x-amz-signature", "signature", "policy")}
    secrets["download signatures"] = {sig for url in journey.signed_urls for sig in signatures(url)}
    assert secrets["upload signatures and policies"] and secrets["download signatures"]
    assert not leaks(section, secrets), "\n".join(leaks(section, secrets))
    # Nor which letters they use: the font subsetter of the slips' PDFs lists their glyphs at INFO.
    assert "Glyph names:" not in section
