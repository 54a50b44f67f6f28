"""Slip 01 and the result notice as PDF: the text reads back (Vietnamese intact), the font
is embedded, and the QR code decodes to the public tracker's URL."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from chalicelib.domain import documents
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.dossiers import DocumentRef, Dossier, LogEntry, ResultDocument
from chalicelib.domain.slips import receipt
from chalicelib.domain.workflow import DossierStatus
from tests.factories import DESK, create_applicant, create_procedure

CODE = "000.00.21.H38-261126-0001"
TRACK = "https://dichvucong.lamdong.example.vn/tra-cuu?ma={code}"
TRACK_URL = f"https://dichvucong.lamdong.example.vn/tra-cuu?ma={CODE}"
RECEIVED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
APPOINTMENT = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)  # 16:30 in Vietnam
DESK_AGENCY = Agency(code=DESK, name="Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng", tier="province")


def received_dossier(**overrides: Any) -> Dossier:
    dossier = Dossier(
        code=CODE, procedure_code="2.000488", procedure_name="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        agency_code=DESK, owner="sub-1", applicant=create_applicant(), form={},
        documents=(DocumentRef("to_khai", "u1"), DocumentRef("uy_quyen", "u2"), DocumentRef("to_khai", "u3")),
        status=DossierStatus.PROCESSING, submitted_at=RECEIVED - timedelta(hours=1),
        due_at=APPOINTMENT + timedelta(days=1), updated_at=RECEIVED, fee_vnd=0, fee_status="not_required",
        received_at=RECEIVED, slips=(receipt(RECEIVED, DESK, APPOINTMENT),),
    )
    return replace(dossier, **overrides)


def done_dossier(status: DossierStatus = DossierStatus.DONE) -> Dossier:
    done_at = datetime(2026, 12, 8, 3, 15, tzinfo=UTC)
    history = [LogEntry(done_at, "000.00.05.H38", "approve", DossierStatus.PROCESSING, DossierStatus.DONE)]
    if status is DossierStatus.RESULT_RETURNED:
        history.append(LogEntry(done_at + timedelta(days=1), "citizen", "return_result", DossierStatus.DONE,
                                DossierStatus.RESULT_RETURNED))
    return received_dossier(status=status, history=tuple(history), result=ResultDocument(
        "up-9", f"results/{CODE}/up-9/Phieu.pdf", "Phiếu lý lịch tư pháp số 123.pdf", "application/pdf"))


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFC", text)


def squashed(text: str) -> str:
    return " ".join(text.split())


def decode_qr(pdf: bytes) -> list[str]:
    """Rasterises the first page (pdfium) and reads every QR code on it (zxing-cpp)."""
    pypdfium2 = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=4).to_pil().convert("L")
    return [barcode.text for barcode in zxingcpp.read_barcodes(image) if "QR" in str(barcode.format)]


# --------------------------------------------------------------------------- content


def test_receipt_content_comes_from_slip_01_and_the_procedure() -> None:
    content = documents.receipt_content(received_dossier(), create_procedure(), DESK_AGENCY,
                                        public_track_url=TRACK)
    assert content is not None
    assert content.agency_name == DESK_AGENCY.name
    assert content.applicant_name == "Nguyễn Văn An"
    assert (content.applicant_address, content.applicant_phone, content.applicant_email) == (
        "12 Trần Phú, phường Xuân Hương - Đà Lạt, Lâm Đồng", "0912345678", "an.nguyen@example.vn")
    assert content.received_at == RECEIVED
    assert content.appointment_at == APPOINTMENT  # the slip's appointment, not the (later) due date
    assert [(d.document_id, d.name, d.files) for d in content.documents] == [
        ("to_khai", "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", 2), ("uy_quyen", "Văn bản ủy quyền", 1)]
    assert content.processing_days == 10
    assert content.tracker_url == TRACK_URL


def test_no_receipt_before_the_desk_received_the_dossier() -> None:
    assert documents.receipt_content(received_dossier(slips=(), status=DossierStatus.NEW), create_procedure(),
                                     DESK_AGENCY, public_track_url=TRACK) is None


def test_receipt_falls_back_to_the_due_date_the_codes_and_ids() -> None:
    slip = replace(receipt(RECEIVED, DESK, APPOINTMENT), details={})
    content = documents.receipt_content(received_dossier(slips=(slip,)), None, None, public_track_url="")
    assert content is not None
    assert content.appointment_at == APPOINTMENT + timedelta(days=1)
    assert content.agency_name == DESK
    assert [d.name for d in content.documents] == ["to_khai", "uy_quyen"]
    assert content.processing_days is None
    # No tracker configured: the QR code holds just the dossier code.
    assert content.tracker_url == CODE


def test_tracker_target_quotes_the_code_into_the_template() -> None:
    assert documents.tracker_target("https://x.example/track/{code}", "A B") == "https://x.example/track/A%20B"
    assert documents.tracker_target("https://x.example/track", CODE) == f"https://x.example/track?code={CODE}"
    assert documents.tracker_target("  ", CODE) == CODE


def test_result_notice_only_for_done_or_returned_with_a_result() -> None:
    assert documents.result_notice_content(received_dossier(), DESK_AGENCY, public_track_url=TRACK) is None
    no_result = replace(done_dossier(), result=None)
    assert documents.result_notice_content(no_result, DESK_AGENCY, public_track_url=TRACK) is None
    done = documents.result_notice_content(done_dossier(), DESK_AGENCY, public_track_url=TRACK)
    assert done is not None and done.returned_at is None
    assert done.done_at == datetime(2026, 12, 8, 3, 15, tzinfo=UTC)
    returned = documents.result_notice_content(done_dossier(DossierStatus.RESULT_RETURNED), DESK_AGENCY,
                                               public_track_url=TRACK)
    assert returned is not None and returned.returned_at == datetime(2026, 12, 9, 3, 15, tzinfo=UTC)


# --------------------------------------------------------------------------- PDF


def test_receipt_pdf_reads_back_in_vietnamese() -> None:
    content = documents.receipt_content(received_dossier(), create_procedure(), DESK_AGENCY,
                                        public_track_url=TRACK)
    assert content is not None
    pdf = documents.render_receipt(content)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert reader.metadata is not None and CODE in str(reader.metadata.title)
    text = squashed(text_of(pdf))
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Mẫu số 01",
        "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH LÂM ĐỒNG",
        f"Mã hồ sơ: {CODE}",
        "Nguyễn Văn An",
        # Mẫu số 01: where to reach the applicant, after the name.
        "Địa chỉ: 12 Trần Phú, phường Xuân Hương - Đà Lạt, Lâm Đồng",
        "Số điện thoại: 0912345678",
        "Email: an.nguyen@example.vn",
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp (2 tệp)",
        "Văn bản ủy quyền",
        "10 ngày làm việc",
        "26/11/2026 09:00",  # received, in Vietnam's time
        "10/12/2026 16:30",  # appointment, in Vietnam's time
    ):
        assert expected in text, expected
    assert TRACK_URL in "".join(text.split())  # printed under the QR code (wrapped)
    # The ID number is not on the form: it stays off the slip.
    assert "068090001234" not in text


def test_the_font_is_embedded_as_a_subset() -> None:
    content = documents.receipt_content(received_dossier(), create_procedure(), DESK_AGENCY,
                                        public_track_url=TRACK)
    assert content is not None
    reader = PdfReader(io.BytesIO(documents.render_receipt(content)))
    fonts = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    names = set()
    for ref in fonts.values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"]  # the TrueType program is in the file
        names.add(str(font["/BaseFont"]))
    assert any("DejaVuSans" in name for name in names)


def test_rendering_is_deterministic() -> None:
    content = documents.receipt_content(received_dossier(), create_procedure(), DESK_AGENCY,
                                        public_track_url=TRACK)
    assert content is not None
    assert documents.render_receipt(content) == documents.render_receipt(content)


def test_receipt_qr_code_opens_the_tracker() -> None:
    content = documents.receipt_content(received_dossier(), create_procedure(), DESK_AGENCY,
                                        public_track_url=TRACK)
    assert content is not None
    assert decode_qr(documents.render_receipt(content)) == [TRACK_URL]


def test_the_drawn_modules_are_segnos_matrix() -> None:
    """Without a decoder, the check still holds: the dark modules drawn are segno's for the URL."""
    import segno

    expected = tuple(tuple(bool(m) for m in row) for row in segno.make(TRACK_URL, error="m", micro=False).matrix)
    assert documents.qr_matrix(TRACK_URL) == expected
    assert segno.make(TRACK_URL, error="m", micro=False).designator.endswith("-M")


@pytest.mark.parametrize("status,label,date_line", [
    (DossierStatus.DONE, "Đã xử lý xong", None),
    (DossierStatus.RESULT_RETURNED, "Đã trả kết quả", "Ngày trả kết quả: 09/12/2026 10:15"),
])
def test_result_notice_pdf(status: DossierStatus, label: str, date_line: str | None) -> None:
    content = documents.result_notice_content(done_dossier(status), DESK_AGENCY, public_track_url=TRACK)
    assert content is not None
    pdf = documents.render_result_notice(content)
    text = squashed(text_of(pdf))
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "THÔNG BÁO KẾT QUẢ GIẢI QUYẾT HỒ SƠ",
        CODE,
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        f"Tình trạng: {label}",
        "Ngày có kết quả: 08/12/2026 10:15",
        "Phiếu lý lịch tư pháp số 123.pdf",
        "Nguyễn Văn An",
    ):
        assert expected in text, expected
    if date_line is None:
        assert "Ngày trả kết quả" not in text
    else:
        assert date_line in text
    assert decode_qr(pdf) == [TRACK_URL]


def test_qr_code_with_just_the_code_when_no_tracker_is_configured() -> None:
    content = documents.result_notice_content(done_dossier(), DESK_AGENCY, public_track_url="")
    assert content is not None
    assert decode_qr(documents.render_result_notice(content)) == [CODE]


def test_decomposed_input_is_set_in_precomposed_letters() -> None:
    name = unicodedata.normalize("NFD", "Trần Thị Ánh Nguyệt")
    dossier = received_dossier(applicant=create_applicant(full_name=name))
    content = documents.receipt_content(dossier, create_procedure(), DESK_AGENCY, public_track_url=TRACK)
    assert content is not None and content.applicant_name == "Trần Thị Ánh Nguyệt"
    assert "Trần Thị Ánh Nguyệt" in text_of(documents.render_receipt(content))


def test_the_tracker_qr_is_a_titled_svg_of_the_link() -> None:
    link = "https://dichvucong.lamdong.gov.vn/tra-cuu?code=000.00.21.H38-261126-0001"
    svg = documents.qr_svg(link, title="Mã QR tra cứu hồ sơ 000.00.21.H38-261126-0001")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<title>Mã QR tra cứu hồ sơ 000.00.21.H38-261126-0001</title>" in svg
    # The drawing is the link's QR code: version, hence size, follows the text's length.
    size = len(documents.qr_matrix(link)) + 2 * documents.QR_QUIET_MODULES
    assert f'viewBox="0 0 {size * 4} {size * 4}"' in svg or f'width="{size * 4}"' in svg
    assert documents.qr_svg(link, title="x") != documents.qr_svg(link + "2", title="x")
