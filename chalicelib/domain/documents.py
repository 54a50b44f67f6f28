"""Printable documents for the citizen: receipt slip 01 (Giấy tiếp nhận hồ sơ và hẹn trả
kết quả, Mẫu số 01, Circular 01/2018/TT-VPCP) and the result notice (Thông báo kết quả
giải quyết hồ sơ), as PDF with the dossier code as a QR code that opens the public tracker.

Two steps, both pure: what a document says (``receipt_content`` / ``result_notice_content``,
plain data from the domain objects) and how it looks (``render_receipt`` /
``render_result_notice``, PDF bytes). fpdf2 and segno are imported only inside the
renderers, so a cold start that makes no PDF does not pay for them.

The text is set in DejaVu Sans (``chalicelib/data/fonts/``, Bitstream Vera licence, see
``LICENSE-DejaVu.txt``), which has every precomposed Vietnamese letter; fpdf2 embeds the
subset used, with a ToUnicode map so the text can be searched and copied.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.domain.catalogue import Agency, Procedure
from chalicelib.domain.dossiers import Dossier
from chalicelib.domain.notifications import format_local, tracker_link
from chalicelib.domain.slips import Slip, SlipNumber
from chalicelib.domain.workflow import DossierStatus

if TYPE_CHECKING:  # pragma: no cover
    from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent.parent / "data" / "fonts"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FONT_FAMILY = "DejaVuSans"

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
RECEIPT_TITLE = SlipNumber.RECEIPT.title_vi.upper()  # GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ
RECEIPT_FORM = SlipNumber.RECEIPT.form_number  # Mẫu số 01
RESULT_NOTICE_TITLE = "THÔNG BÁO KẾT QUẢ GIẢI QUYẾT HỒ SƠ"
RESULT_STATUSES = (DossierStatus.DONE, DossierStatus.RESULT_RETURNED)


def tracker_target(public_track_url: str, code: str) -> str:
    """What the QR code encodes: the public tracker's URL for the dossier (the configured
    ``public_track_url`` template, as in the notifications). Without a configured tracker
    the QR code holds just the dossier code — there is no web URL to build a link from, and
    a desk officer's scanner or the tracker's search box can still read the code."""
    return tracker_link(public_track_url, code) or code


@dataclass(frozen=True)
class DocumentLine:
    """One document of the dossier's composition (thành phần hồ sơ) and how many files."""

    document_id: str
    name: str
    files: int


@dataclass(frozen=True)
class ReceiptContent:
    code: str
    agency_name: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    # Mẫu số 01 names where to reach the applicant (not their ID number): the slip goes to its owner only.
    applicant_address: str
    applicant_phone: str
    applicant_email: str
    documents: tuple[DocumentLine, ...]
    processing_days: float | None
    received_at: datetime
    appointment_at: datetime
    tracker_url: str


@dataclass(frozen=True)
class ResultNoticeContent:
    code: str
    agency_name: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    status: DossierStatus  # DONE (result ready) or RESULT_RETURNED
    result_filename: str
    done_at: datetime  # when the result was ready
    returned_at: datetime | None  # when the citizen received it (status 10)
    tracker_url: str


def _clean(text: str) -> str:
    """NFC (the font has precomposed glyphs; combining marks would render apart) on one line."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _agency_name(agency: Agency | None, fallback_code: str) -> str:
    return _clean(agency.name) if agency is not None and agency.name.strip() else fallback_code


def document_lines(dossier: Dossier, procedure: Procedure | None) -> tuple[DocumentLine, ...]:
    """The documents received, in the procedure's order, named as the procedure names them
    (an id the catalogue no longer knows is listed by its id, after the known ones)."""
    counts: dict[str, int] = {}
    for ref in dossier.documents:
        counts[ref.document_id] = counts.get(ref.document_id, 0) + 1
    lines: list[DocumentLine] = []
    known = procedure.required_documents if procedure is not None else ()
    for requirement in known:
        if requirement.id in counts:
            lines.append(DocumentLine(requirement.id, _clean(requirement.name), counts.pop(requirement.id)))
    lines.extend(DocumentLine(document_id, document_id, files) for document_id, files in counts.items())
    return tuple(lines)


def _slip(dossier: Dossier, number: SlipNumber) -> Slip | None:
    return next((slip for slip in dossier.slips if slip.number is number), None)


def _parse_instant(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def receipt_content(dossier: Dossier, procedure: Procedure | None, agency: Agency | None,
                    *, public_track_url: str) -> ReceiptContent | None:
    """Slip 01's content, or None while the desk has not received the dossier (no slip 01).

    The appointment is the one written on the slip when it was issued (a later apology,
    slip 04, gives a new date on its own slip); the dossier's due date if the slip has none."""
    slip = _slip(dossier, SlipNumber.RECEIPT)
    if slip is None:
        return None
    appointment = _parse_instant(slip.details.get("appointment_at")) or dossier.due_at
    return ReceiptContent(
        code=dossier.code,
        agency_name=_agency_name(agency, slip.issued_by or dossier.agency_code),
        procedure_code=dossier.procedure_code,
        procedure_name=_clean(procedure.name if procedure is not None else dossier.procedure_name),
        applicant_name=_clean(dossier.applicant.get("full_name", "")),
        applicant_address=_clean(dossier.applicant.get("address", "")),
        applicant_phone=_clean(dossier.applicant.get("phone", "")),
        applicant_email=_clean(dossier.applicant.get("email", "")),
        documents=document_lines(dossier, procedure),
        processing_days=procedure.processing_days if procedure is not None else None,
        received_at=slip.issued_at,
        appointment_at=appointment,
        tracker_url=tracker_target(public_track_url, dossier.code),
    )


def _entered(dossier: Dossier, status: DossierStatus) -> datetime | None:
    """When the dossier last entered ``status``, from its progress log."""
    times = [entry.at for entry in dossier.history if entry.to_status is status]
    return times[-1] if times else None


def result_notice_content(dossier: Dossier, agency: Agency | None,
                          *, public_track_url: str) -> ResultNoticeContent | None:
    """The result notice's content, or None unless the dossier is done (9) or returned (10)
    with a result document."""
    if dossier.status not in RESULT_STATUSES or dossier.result is None:
        return None
    returned_at = None if dossier.status is DossierStatus.DONE \
        else _entered(dossier, DossierStatus.RESULT_RETURNED) or dossier.updated_at
    return ResultNoticeContent(
        code=dossier.code,
        agency_name=_agency_name(agency, dossier.agency_code),
        procedure_code=dossier.procedure_code,
        procedure_name=_clean(dossier.procedure_name),
        applicant_name=_clean(dossier.applicant.get("full_name", "")),
        status=dossier.status,
        result_filename=_clean(dossier.result.filename),
        done_at=_entered(dossier, DossierStatus.DONE) or dossier.updated_at,
        returned_at=returned_at,
        tracker_url=tracker_target(public_track_url, dossier.code),
    )


# --------------------------------------------------------------------------- rendering

PAGE_MARGIN_MM = 20.0
QR_SIZE_MM = 32.0
QR_QUIET_MODULES = 4


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules (True = dark), row by row, without the quiet zone."""
    import segno

    qr = segno.make(text, error="m", micro=False)
    return tuple(tuple(bool(module) for module in row) for row in qr.matrix)


def qr_svg(text: str, *, title: str) -> str:
    """The QR code of ``text`` as a standalone SVG document (dark modules on white, quiet zone
    kept), titled for screen readers."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=4, border=QR_QUIET_MODULES,
                                                  dark="#000", light="#fff", title=title, xmldecl=False)
    return out.getvalue().decode("utf-8")


def _days(days: float) -> str:
    return f"{days:g}".replace(".", ",")


def _new_pdf(title: str, created: datetime) -> FPDF:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=PAGE_MARGIN_MM)
    pdf.add_font(FONT_FAMILY, "", str(FONT_REGULAR))
    pdf.add_font(FONT_FAMILY, "B", str(FONT_BOLD))
    pdf.set_title(title)
    pdf.set_lang("vi")
    pdf.set_creator("motcua")
    # The document's own date, so the same dossier always gives the same bytes.
    pdf.set_creation_date(created.astimezone(UTC))
    pdf.add_page()
    return pdf


def _header(pdf: FPDF, agency_name: str, number_line: str) -> None:
    """Agency on the left, the national name and motto on the right, as on every slip."""
    left_w = 70.0
    right_w = pdf.epw - left_w
    top = pdf.get_y()
    pdf.set_font(FONT_FAMILY, "B", 10)
    pdf.multi_cell(left_w, 5, agency_name.upper(), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.multi_cell(left_w, 5, number_line, align="C", new_x="LEFT", new_y="NEXT")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + left_w, top)
    pdf.set_font(FONT_FAMILY, "B", 10)
    pdf.multi_cell(right_w, 5, NATIONAL_NAME, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_x(pdf.l_margin + left_w)
    pdf.multi_cell(right_w, 5, NATIONAL_MOTTO, align="C", new_x="LEFT", new_y="NEXT")
    motto_w = pdf.get_string_width(NATIONAL_MOTTO)
    x = pdf.l_margin + left_w + (right_w - motto_w) / 2
    pdf.line(x, pdf.get_y() + 0.5, x + motto_w, pdf.get_y() + 0.5)
    pdf.set_xy(pdf.l_margin, max(left_bottom, pdf.get_y()) + 8)


def _title(pdf: FPDF, title: str, subtitle: str) -> None:
    pdf.set_font(FONT_FAMILY, "B", 13)
    pdf.multi_cell(0, 7, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 10)
    pdf.multi_cell(0, 6, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _line(pdf: FPDF, label: str, value: str = "", *, indent: float = 0.0) -> None:
    pdf.set_x(pdf.l_margin + indent)
    if value:
        pdf.set_font(FONT_FAMILY, "", 11)
        pdf.write(6, label)
        pdf.set_font(FONT_FAMILY, "B", 11)
        pdf.write(6, value)
        pdf.ln(7)
    else:
        pdf.set_font(FONT_FAMILY, "", 11)
        pdf.multi_cell(pdf.epw - indent, 6, label, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


def _qr(pdf: FPDF, text: str, caption: Sequence[str]) -> None:
    """The QR code, drawn as filled squares (vector, sharp at any zoom), with a white quiet
    zone, at the right of the page below the text; ``caption`` lines to its left."""
    matrix = qr_matrix(text)
    modules = len(matrix) + 2 * QR_QUIET_MODULES
    module = QR_SIZE_MM / modules
    if pdf.get_y() + QR_SIZE_MM > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y() + 2
    left = pdf.w - pdf.r_margin - QR_SIZE_MM
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(left, top, QR_SIZE_MM, QR_SIZE_MM, style="F")
    pdf.set_fill_color(0, 0, 0)
    origin_x = left + QR_QUIET_MODULES * module
    origin_y = top + QR_QUIET_MODULES * module
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # One rectangle per run of dark modules: smaller file, no hairline seams.
            pdf.rect(origin_x + start * module, origin_y + r * module, (c - start) * module, module, style="F")
    pdf.set_xy(pdf.l_margin, top + 4)
    pdf.set_font(FONT_FAMILY, "", 8)
    for line in caption:
        pdf.multi_cell(pdf.epw - QR_SIZE_MM - 4, 4.5, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + QR_SIZE_MM + 2)


def _signatures(pdf: FPDF, left: str, right: str) -> None:
    pdf.ln(4)
    half = pdf.epw / 2
    pdf.set_font(FONT_FAMILY, "B", 11)
    pdf.cell(half, 6, left, align="C")
    pdf.cell(half, 6, right, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, "", 9)
    pdf.cell(half, 5, "(Ký và ghi rõ họ tên)", align="C")
    pdf.cell(half, 5, "(Ký và ghi rõ họ tên)", align="C", new_x="LMARGIN", new_y="NEXT")


def _output(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def render_receipt(content: ReceiptContent) -> bytes:
    """Slip 01 as PDF bytes (A4, one page for any ordinary dossier)."""
    received = format_local(content.received_at)
    appointment = format_local(content.appointment_at)
    pdf = _new_pdf(f"{SlipNumber.RECEIPT.title_vi} - {content.code}", content.received_at)
    _header(pdf, content.agency_name, f"Số: {content.code}")
    _title(pdf, RECEIPT_TITLE, f"({RECEIPT_FORM} - Thông tư 01/2018/TT-VPCP)")
    _line(pdf, "Mã hồ sơ: ", content.code)
    _line(pdf, f"Bộ phận tiếp nhận và trả kết quả - {content.agency_name} tiếp nhận hồ sơ của:")
    _line(pdf, "Ông/bà: ", content.applicant_name or "-")
    _line(pdf, "Địa chỉ: ", content.applicant_address or "-")
    _line(pdf, "Số điện thoại: ", content.applicant_phone or "-")
    _line(pdf, "Email: ", content.applicant_email or "-")
    _line(pdf, "Nội dung yêu cầu giải quyết: ", f"{content.procedure_name} (mã thủ tục {content.procedure_code})")
    _line(pdf, "1. Thành phần hồ sơ nộp gồm:")
    for index, document in enumerate(content.documents, start=1):
        files = f" ({document.files} tệp)" if document.files > 1 else ""
        _line(pdf, f"{index}) {document.name}{files}", indent=6)
    if not content.documents:
        _line(pdf, "(không có)", indent=6)
    _line(pdf, "2. Số lượng hồ sơ: ", "01 bộ")
    if content.processing_days is not None:
        _line(pdf, "3. Thời gian giải quyết hồ sơ theo quy định: ",
              f"{_days(content.processing_days)} ngày làm việc")
    else:
        _line(pdf, "3. Thời gian giải quyết hồ sơ theo quy định: ", "theo thủ tục")
    _line(pdf, "4. Thời gian nhận hồ sơ: ", received)
    _line(pdf, "5. Thời gian trả kết quả giải quyết hồ sơ: ", appointment)
    _line(pdf, "6. Nhận kết quả: ", "trực tuyến hoặc tại Bộ phận tiếp nhận và trả kết quả")
    _qr(pdf, content.tracker_url, [
        "Quét mã QR để tra cứu tình trạng hồ sơ:",
        content.tracker_url,
        "(Giờ Việt Nam, GMT+7)",
    ])
    _signatures(pdf, "NGƯỜI NỘP HỒ SƠ", "NGƯỜI TIẾP NHẬN HỒ SƠ")
    return _output(pdf)


def render_result_notice(content: ResultNoticeContent) -> bytes:
    """The result notice as PDF bytes."""
    issued = content.returned_at or content.done_at
    pdf = _new_pdf(f"Thông báo kết quả giải quyết hồ sơ - {content.code}", issued)
    _header(pdf, content.agency_name, f"Hồ sơ: {content.code}")
    _title(pdf, RESULT_NOTICE_TITLE, f"Mã hồ sơ: {content.code}")
    _line(pdf, "Kính gửi ông/bà: ", content.applicant_name or "-")
    _line(pdf, "Thủ tục: ", f"{content.procedure_name} (mã thủ tục {content.procedure_code})")
    _line(pdf, "Mã hồ sơ: ", content.code)
    _line(pdf, "Tình trạng: ", content.status.label_vi)
    _line(pdf, "Ngày có kết quả: ", format_local(content.done_at))
    if content.returned_at is not None:
        _line(pdf, "Ngày trả kết quả: ", format_local(content.returned_at))
    _line(pdf, "Văn bản kết quả: ", content.result_filename)
    if content.status is DossierStatus.DONE:
        _line(pdf, "Hồ sơ đã được giải quyết xong. Ông/bà nhận kết quả trực tuyến (tải văn bản kết quả "
                   "trên Cổng dịch vụ công) hoặc tại Bộ phận tiếp nhận và trả kết quả.")
    else:
        _line(pdf, "Hồ sơ đã được giải quyết xong và đã trả kết quả cho ông/bà.")
    _qr(pdf, content.tracker_url, [
        "Quét mã QR để tra cứu tình trạng hồ sơ:",
        content.tracker_url,
        "(Giờ Việt Nam, GMT+7)",
    ])
    return _output(pdf)
