"""Receipt slip 01 and the result notice as PDF (issue 4): the owner gets a short-lived link
to a PDF stored in the documents bucket on first request and reused after; nobody else
gets anything (404)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from pypdf import PdfReader

from chalicelib.config import get_settings
from chalicelib.domain import documents
from chalicelib.domain.calendar import VN_TZ
from tests.factories import DESK, JUSTICE
from tests.integration.route_support import Agencies, dossier_status, execution_status, pump, submit

TRACK = "https://dichvucong.lamdong.example.vn/tra-cuu/{code}"
PDF = "application/pdf"
RESULT = b"%PDF-1.4 Phieu ly lich tu phap so 123/2026"


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the PDFs actually rendered (by kind)."""
    made: list[str] = []
    receipt, notice = documents.render_receipt, documents.render_result_notice

    def render_receipt(content: documents.ReceiptContent) -> bytes:
        made.append("receipt")
        return receipt(content)

    def render_result_notice(content: documents.ResultNoticeContent) -> bytes:
        made.append("result-notice")
        return notice(content)

    monkeypatch.setattr(documents, "render_receipt", render_receipt)
    monkeypatch.setattr(documents, "render_result_notice", render_result_notice)
    return made


def get(api: Any, path: str, key: str | None) -> Any:
    return api.http.get(path, headers={"Authorization": f"Bearer {key}"} if key else {})


def link_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    link: dict[str, Any] = json.loads(response.body)
    assert set(link) == {"url", "expires_at"}
    return link


def download(link: dict[str, Any]) -> bytes:
    response = requests.get(link["url"], timeout=10)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    return response.content


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def decode_qr(pdf: bytes) -> list[str]:
    pypdfium2 = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=4).to_pil().convert("L")
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def stored_keys(code: str) -> list[str]:
    settings = get_settings()
    listed = boto3.client("s3", region_name=settings.region).list_objects_v2(
        Bucket=settings.documents_bucket, Prefix=f"slips/{code}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def post_json(api: Any, path: str, key: str, body: dict[str, Any]) -> Any:
    return api.http.post(path, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                         body=json.dumps(body))


def upload_result(api: Any, key: str, code: str) -> str:
    response = post_json(api, "/uploads", key, {"filename": "Phiếu lý lịch tư pháp.pdf", "content_type": PDF,
                                                "size": len(RESULT), "dossier_code": code})
    assert response.status_code == 201, response.body
    ticket = json.loads(response.body)
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("r.pdf", RESULT)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return str(ticket["upload_id"])


def test_the_owner_gets_slip_01_as_pdf_once_received(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
    agencies: Agencies, renders: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOTCUA_PUBLIC_TRACK_URL", TRACK)
    code = submit(api, sample_token, "2.000488")
    path = f"/dossiers/{code}/receipt"
    # Submitted, not yet received by the desk: no slip 01.
    refused = get(api, path, sample_token)
    assert refused.status_code == 404
    assert json.loads(refused.body)["error"]["code"] == "receipt_not_found"

    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    assert dossier_status(code) in (2, 4)

    # Nobody but the owner: another citizen and the agencies get the same 404, no token a 401.
    for key in (other_token, agencies.key(DESK), agencies.key(JUSTICE)):
        response = get(api, path, key)
        assert response.status_code == 404, key
        assert json.loads(response.body)["error"]["code"] == "receipt_not_found"
    assert get(api, path, None).status_code == 401
    assert get(api, "/dossiers/not-a-code/receipt", sample_token).status_code == 404
    assert get(api, f"{path}?x=1", sample_token).status_code == 422
    assert renders == [] and stored_keys(code) == []

    link = link_of(get(api, path, sample_token))
    query = parse_qs(urlparse(link["url"]).query)
    assert 0 < int(query["X-Amz-Expires"][0]) <= 900
    assert query["response-content-disposition"][0] == f'attachment; filename="giay-tiep-nhan-{code}.pdf"'
    assert datetime.fromisoformat(link["expires_at"]) == frozen_clock + timedelta(minutes=15)
    assert datetime.fromisoformat(link["expires_at"]).utcoffset() == frozen_clock.astimezone(VN_TZ).utcoffset()
    pdf = download(link)
    text = text_of(pdf)
    for expected in (code, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Nguyễn Văn An", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
                     "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"):
        assert expected in text, expected
    assert decode_qr(pdf) == [TRACK.format(code=code)]
    assert stored_keys(code) == [f"slips/{code}/01.pdf"]
    assert renders == ["receipt"]

    # A second request reuses the stored PDF.
    again = link_of(get(api, path, sample_token))
    assert download(again) == pdf
    assert renders == ["receipt"]
    assert stored_keys(code) == [f"slips/{code}/01.pdf"]


def test_the_owner_gets_the_result_notice_once_done(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
    agencies: Agencies, renders: list[str],
) -> None:
    code = submit(api, sample_token, "2.000488")
    path = f"/dossiers/{code}/result-notice"
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    task = agencies.task_for(JUSTICE, code)
    # Received and in processing: slip 01 yes, result notice no.
    assert get(api, f"/dossiers/{code}/receipt", sample_token).status_code == 200
    refused = get(api, path, sample_token)
    assert refused.status_code == 404
    assert json.loads(refused.body)["error"]["code"] == "result_notice_not_found"

    decided = post_json(api, f"/agency/tasks/{task['task_id']}/decision", agencies.key(JUSTICE),
                        {"decision": "approve", "result_upload_id": upload_result(api, agencies.key(JUSTICE), code)})
    assert decided.status_code == 200, decided.body
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9

    for key in (other_token, agencies.key(JUSTICE), agencies.key(DESK)):
        assert get(api, path, key).status_code == 404
    assert get(api, path, None).status_code == 401

    link = link_of(get(api, path, sample_token))
    assert 0 < int(parse_qs(urlparse(link["url"]).query)["X-Amz-Expires"][0]) <= 900
    done_pdf = download(link)
    text = text_of(done_pdf)
    for expected in (code, "THÔNG BÁO KẾT QUẢ GIẢI QUYẾT HỒ SƠ", "Tình trạng: Đã xử lý xong",
                     "Phiếu lý lịch tư pháp.pdf", "Nguyễn Văn An"):
        assert expected in text, expected
    # No tracker configured in the local stage: the QR code holds the dossier code.
    assert decode_qr(done_pdf) == [code]
    assert download(link_of(get(api, path, sample_token))) == done_pdf
    assert renders.count("result-notice") == 1

    # The result downloaded: returned (10), and the notice says so (a notice of its own).
    assert get(api, f"/dossiers/{code}/result", sample_token).status_code == 200
    assert dossier_status(code) == 10
    returned_pdf = download(link_of(get(api, path, sample_token)))
    assert "Tình trạng: Đã trả kết quả" in text_of(returned_pdf)
    assert renders.count("result-notice") == 2
    assert stored_keys(code) == [f"slips/{code}/01.pdf", f"slips/{code}/result-notice-09.pdf",
                                 f"slips/{code}/result-notice-10.pdf"]
    assert download(link_of(get(api, path, sample_token))) == returned_pdf
    assert renders.count("result-notice") == 2
