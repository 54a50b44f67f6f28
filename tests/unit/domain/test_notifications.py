"""Citizen notifications: the words, written out by hand, and what must never be in them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.dossiers import DocumentRef, Dossier, LogEntry
from chalicelib.domain.notifications import (
    SMS_MAX_CHARS,
    Message,
    plain,
    should_notify,
    status_message,
    tracker_link,
)
from chalicelib.domain.workflow import DossierStatus
from tests.factories import create_applicant

S = DossierStatus
CODE = "000.00.21.H38-261126-0001"
PROCEDURE = "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"
# Thursday 26 November 2026 09:00 in Vietnam; due Thursday 10 December 2026 at 17:00 there.
SUBMITTED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
TRACK = f"https://dichvucong.lamdong.gov.vn/tra-cuu?code={CODE}"
FORM = {"purpose": "Xin việc làm tại Công ty Sao Mai", "birth_date": "1990-05-17"}


def make_dossier(status: DossierStatus = S.RECEIVED, **overrides: object) -> Dossier:
    fields: dict[str, object] = {
        "code": CODE, "procedure_code": "2.000488", "procedure_name": PROCEDURE, "agency_code": "000.00.21.H38",
        "owner": "citizen-sub-1", "applicant": create_applicant(), "form": dict(FORM),
        "documents": (DocumentRef("to_khai", "upload-1"),), "status": status, "submitted_at": SUBMITTED,
        "due_at": DUE, "updated_at": SUBMITTED, "fee_vnd": 200000, "fee_status": "unpaid",
    }
    fields.update(overrides)
    return Dossier(**fields)  # type: ignore[arg-type]


def entry(to_status: DossierStatus, from_status: DossierStatus | None = S.NEW, note: str = "",
          action: str = "receive") -> LogEntry:
    return LogEntry(at=SUBMITTED, actor="desk-officer", action=action, from_status=from_status,
                    to_status=to_status, note=note)


def message(to_status: DossierStatus, note: str = "", *, track_url: str | None = TRACK,
            from_status: DossierStatus | None = S.NEW, **dossier: object) -> Message:
    return status_message(make_dossier(to_status, **dossier), entry(to_status, from_status, note),
                          track_url=track_url)


# -- when -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("from_status", "to_status", "expected"), [
    # What an agency or the system did: the citizen learns it from us.
    (S.NEW, S.RECEIVED, True),
    (S.NEW, S.NOT_RECEIVED, True),
    (S.NEW, S.SUPPLEMENT_REQUESTED, True),
    (S.PROCESSING, S.SUPPLEMENT_REQUESTED, True),
    (S.RECEIVED, S.AWAITING_FEE, True),
    (S.PROCESSING, S.STOPPED, True),
    (S.SUPPLEMENT_REQUESTED, S.STOPPED, True),
    (S.PROCESSING, S.DONE, True),
    # What the citizen did, answered on screen: submitted, supplemented, paid, withdrew, downloaded.
    (None, S.NEW, False),
    (S.SUPPLEMENT_REQUESTED, S.NEW, False),
    (S.SUPPLEMENT_REQUESTED, S.PROCESSING, False),
    (S.AWAITING_FEE, S.PROCESSING, False),
    (S.PROCESSING, S.WITHDRAWN, False),
    (S.DONE, S.RESULT_RETURNED, False),
    # Reception done, processing starts: nothing the receipt did not say.
    (S.RECEIVED, S.PROCESSING, False),
    (S.PROCESSING, S.PROCESSING, False),  # one step of several approved: nothing new for the citizen
    (S.RECEIVED, S.RECEIVED, False),
])
def test_should_notify_what_the_citizen_does_not_know(from_status: DossierStatus | None, to_status: DossierStatus,
                                                      expected: bool) -> None:
    assert should_notify(entry(to_status, from_status)) is expected


@pytest.mark.parametrize("action", ["apologise", "payment_failed"])
def test_should_notify_a_new_date_or_a_failed_payment_without_a_status_change(action: str) -> None:
    assert should_notify(entry(S.PROCESSING, S.PROCESSING, action=action)) is True
    assert should_notify(entry(S.PROCESSING, S.PROCESSING, action="escalate")) is False


# -- the email --------------------------------------------------------------------------------

def test_received_email_in_vietnamese_then_english() -> None:
    sent = message(S.RECEIVED)

    assert sent.subject == f"Hồ sơ {CODE}: Đã tiếp nhận / Dossier {CODE}: Received"
    assert (f"Hồ sơ {CODE} – thủ tục “{PROCEDURE}” – đã chuyển sang trạng thái: Đã tiếp nhận."
            in sent.text)
    assert "Ngày hẹn trả kết quả: 10/12/2026 17:00 (giờ Việt Nam)" in sent.text
    assert f"Tra cứu tiến độ hồ sơ: {TRACK}" in sent.text
    assert f"Dossier {CODE} – procedure “{PROCEDURE}” – is now: Received." in sent.text
    assert "Appointment date for the result: 10/12/2026 17:00 (Vietnam time)" in sent.text
    assert f"Track your dossier: {TRACK}" in sent.text
    assert sent.text.index("Kính gửi") < sent.text.index("Dear applicant")
    assert "Ghi chú" not in sent.text  # no note, no empty line for it


def test_refusal_carries_the_reason_and_no_appointment_date() -> None:
    reason = "Hồ sơ không thuộc thẩm quyền giải quyết của Sở Tư pháp."
    sent = message(S.NOT_RECEIVED, reason)

    assert sent.subject == f"Hồ sơ {CODE}: Không tiếp nhận / Dossier {CODE}: Not received"
    assert f"Ghi chú: {reason}" in sent.text
    assert f"Note: {reason}" in sent.text
    assert "Ngày hẹn" not in sent.text and "Appointment date" not in sent.text


def test_supplement_request_says_the_deadline_is_paused() -> None:
    sent = message(S.SUPPLEMENT_REQUESTED, "Bổ sung bản sao Giấy khai sinh.", from_status=S.PROCESSING)

    assert "Yêu cầu bổ sung" in sent.subject and "Supplement requested" in sent.subject
    assert "Ghi chú: Bổ sung bản sao Giấy khai sinh." in sent.text
    assert "Thời hạn giải quyết tạm dừng trong khi chờ Quý ông/bà bổ sung hồ sơ." in sent.text
    assert "The processing deadline is paused until you supplement the dossier." in sent.text
    assert "Ngày hẹn" not in sent.text


@pytest.mark.parametrize(("status", "label_vi", "label_en", "shows_due"), [
    (S.NEW, "Mới", "New", True),
    (S.PROCESSING, "Đang xử lý", "Processing", True),
    (S.AWAITING_FEE, "Chờ thực hiện nghĩa vụ tài chính", "Awaiting fee payment", True),
    (S.WITHDRAWN, "Rút hồ sơ", "Withdrawn", False),
    (S.STOPPED, "Dừng xử lý", "Stopped", False),
    (S.DONE, "Đã xử lý xong", "Done", False),
    (S.RESULT_RETURNED, "Đã trả kết quả", "Result returned", False),
])
def test_every_status_is_named_in_both_languages(status: DossierStatus, label_vi: str, label_en: str,
                                                 shows_due: bool) -> None:
    sent = message(status)
    assert sent.subject == f"Hồ sơ {CODE}: {label_vi} / Dossier {CODE}: {label_en}"
    assert f"trạng thái: {label_vi}." in sent.text
    assert f"is now: {label_en}." in sent.text
    assert ("10/12/2026 17:00" in sent.text) is shows_due
    assert plain(label_vi) in sent.sms


def test_due_date_is_vietnam_time_across_midnight_utc() -> None:
    # 17:30 UTC on 31 December is 00:30 on 1 January in Vietnam.
    sent = message(S.RECEIVED, due_at=datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    assert "01/01/2027 00:30" in sent.text
    assert "Han: 01/01/2027 00:30." in sent.sms


def test_without_a_tracker_there_is_no_link() -> None:
    sent = message(S.RECEIVED, track_url=None)
    assert "Tra cứu" not in sent.text and "Track your dossier" not in sent.text
    assert "http" not in sent.text and "Tra cuu" not in sent.sms


# -- the SMS ----------------------------------------------------------------------------------

def test_sms_is_short_plain_and_complete() -> None:
    sent = message(S.RECEIVED)
    assert sent.sms == (f"Ho so {CODE} (Cap Phieu ly lich tu phap cho cong dan Viet Nam): "
                        f"Da tiep nhan (Received). Han: 10/12/2026 17:00. Tra cuu: {TRACK}")
    assert sent.sms.isascii()
    assert len(sent.sms) <= SMS_MAX_CHARS


def test_sms_keeps_case_and_the_note() -> None:
    sent = message(S.SUPPLEMENT_REQUESTED, "Bổ sung Đơn đề nghị có xác nhận của UBND xã.",
                   from_status=S.PROCESSING)
    assert "Yeu cau bo sung (Supplement requested)" in sent.sms
    assert "Ghi chu: Bo sung Don de nghi co xac nhan cua UBND xa." in sent.sms
    assert ".." not in sent.sms


def test_a_long_note_and_name_are_shortened_but_code_status_and_link_stay() -> None:
    note = "Thiếu bản sao Căn cước có chứng thực; bổ sung Tờ khai đúng mẫu số 03/2013/TT-LLTP. " * 6
    long_name = "Thủ tục " + "liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế " * 3
    sent = message(S.SUPPLEMENT_REQUESTED, note, from_status=S.PROCESSING, procedure_name=long_name)

    assert len(sent.sms) <= SMS_MAX_CHARS
    assert sent.sms.isascii()
    assert sent.sms.startswith(f"Ho so {CODE} (Thu tuc lien thong")
    assert ": Yeu cau bo sung (Supplement requested). Ghi chu: Thieu ban sao Can cuoc" in sent.sms
    assert sent.sms.endswith(f"... Tra cuu: {TRACK}")
    assert note.strip() in sent.text  # the email has room for all of it


def test_a_link_too_long_for_an_sms_is_left_to_the_email() -> None:
    url = "https://dichvucong.lamdong.gov.vn/tra-cuu?" + "x" * 300
    sent = message(S.RECEIVED, track_url=url)
    assert len(sent.sms) <= SMS_MAX_CHARS
    assert "Tra cuu" not in sent.sms and "Han: 10/12/2026 17:00." in sent.sms
    assert url in sent.text


@pytest.mark.parametrize(("text", "expected"), [
    ("Đã tiếp nhận", "Da tiep nhan"),
    ("ĐĂNG KÝ KHAI SINH", "DANG KY KHAI SINH"),
    ("Ủy ban nhân dân phường Xuân Hương – Đà Lạt", "Uy ban nhan dan phuong Xuan Huong - Da Lat"),
    ("“Giấy tờ”\n  kèm theo…", '"Giay to" kem theo...'),
    ("Nghĩa vụ tài chính: 200.000 ₫", "Nghia vu tai chinh: 200.000"),
])
def test_plain_strips_diacritics_but_keeps_case(text: str, expected: str) -> None:
    assert plain(text) == expected


# -- personal data ----------------------------------------------------------------------------

@pytest.mark.parametrize("status", list(DossierStatus))
def test_no_personal_data_in_any_message(status: DossierStatus) -> None:
    applicant = create_applicant()
    sent = message(status, "Đã kiểm tra đủ thành phần.")
    everything = "\n".join((sent.subject, sent.text, sent.sms))

    for secret in (applicant["id_number"], applicant["address"], applicant["phone"], applicant["email"],
                   applicant["full_name"], *FORM.values()):
        assert secret not in everything
        assert plain(secret) not in everything
    for fragment in ("068090001234", "Trần Phú", "Tran Phu", "1990", "Sao Mai", "0912345678", "citizen-sub-1"):
        assert fragment not in everything


# -- the tracker link -------------------------------------------------------------------------

@pytest.mark.parametrize(("template", "expected"), [
    ("", None),
    ("   ", None),
    ("https://dvc.example.vn/tra-cuu/{code}", f"https://dvc.example.vn/tra-cuu/{CODE}"),
    ("https://dvc.example.vn/#/track?code={code}&lang=vi", f"https://dvc.example.vn/#/track?code={CODE}&lang=vi"),
    ("https://dvc.example.vn/tra-cuu", f"https://dvc.example.vn/tra-cuu?code={CODE}"),
    ("https://dvc.example.vn/?lang=vi", f"https://dvc.example.vn/?lang=vi&code={CODE}"),
])
def test_tracker_link(template: str, expected: str | None) -> None:
    assert tracker_link(template, CODE) == expected


def test_tracker_link_quotes_the_code() -> None:
    assert tracker_link("https://dvc.example.vn/t/{code}", "A B/?&") == "https://dvc.example.vn/t/A%20B%2F%3F%26"
