"""Dossier codes (Circular 01/2018/TT-VPCP art. 19) and the submission rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib.domain.catalogue import Procedure
from chalicelib.domain.dossiers import (
    RATEABLE_STATUSES,
    SERVER_OWNED_FIELDS,
    DocumentRef,
    Rating,
    format_dossier_code,
    is_dossier_code,
    log_note,
    parse_rating,
    parse_submission_envelope,
    parse_withdrawal,
    refuse_server_owned,
    validate_submission,
)
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.forms import ValidationFailed
from chalicelib.domain.workflow import DossierStatus
from tests.factories import COMMUNE, DESK, create_applicant, create_dossier, create_procedure, create_submission

SAMPLE_DAY = date(2026, 11, 26)
SAMPLE_DOCUMENTS = [{"document_id": "to_khai", "upload_id": "u1"}]


@pytest.fixture
def sample_procedure() -> Procedure:
    return create_procedure()


def sample_body(**overrides: Any) -> dict[str, Any]:
    overrides.setdefault("documents", list(SAMPLE_DOCUMENTS))
    return create_submission(**overrides)


def error_fields(failed: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {error.field: error.message for error in failed.value.errors}


def refusal(procedure: Procedure, body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failed:
        validate_submission(procedure, body)
    assert failed.value.code == "validation_failed"
    return error_fields(failed)


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("agency", "day", "sequence", "expected"),
    [
        (DESK, SAMPLE_DAY, 1, "000.00.21.H38-261126-0001"),
        (DESK, SAMPLE_DAY, 42, "000.00.21.H38-261126-0042"),
        (DESK, SAMPLE_DAY, 9999, "000.00.21.H38-261126-9999"),
        (DESK, SAMPLE_DAY, 10000, "000.00.21.H38-261126-10000"),
        (DESK, SAMPLE_DAY, 123456, "000.00.21.H38-261126-123456"),
        (COMMUNE, date(2027, 2, 11), 7, "000.01.10.H38-270211-0007"),
        (DESK, date(2026, 1, 1), 1, "000.00.21.H38-260101-0001"),
    ],
)
def test_format_dossier_code(agency: str, day: date, sequence: int, expected: str) -> None:
    code = format_dossier_code(agency, day, sequence)
    assert code == expected
    assert is_dossier_code(code)


@pytest.mark.parametrize("sequence", [0, -1, 10_000_000])
def test_sequences_run_from_one_to_seven_digits(sequence: int) -> None:
    with pytest.raises(ValueError):
        format_dossier_code(DESK, SAMPLE_DAY, sequence)


@pytest.mark.parametrize("sequence", [1, 9999, 10_000, 999_999, 1_000_000, 9_999_999])
def test_every_formatted_code_is_a_dossier_code(sequence: int) -> None:
    """Regression: 1,000,000 used to give a 7-digit code that is_dossier_code refused."""
    assert is_dossier_code(format_dossier_code(DESK, SAMPLE_DAY, sequence))


@pytest.mark.parametrize(
    "text",
    [
        "000.00.21.H38-261126-0001",
        "000.01.10.H38-261126-0001",
        "H38-261126-0001",
        "000.00.21.H38-261126-999999",
        "000.00.21.H38-261126-9999999",
    ],
)
def test_real_codes_are_dossier_codes(text: str) -> None:
    assert is_dossier_code(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-a-code",
        "000.00.21.h38-261126-0001",  # lower case
        "000.00.21.H38-261126-001",  # sequence of 3 digits
        "000.00.21.H38-261126-12345678",  # sequence of 8 digits
        "000.00.21.H38-26112-0001",  # date of 5 digits
        "000.00.21.H38-2611260-0001",
        "000.00.21.H38-261126",
        "-261126-0001",
        "000.00.21.H38 -261126-0001",
        " 000.00.21.H38-261126-0001",
        "000.00.21.H38-261126-0001 ",
        "000/00/21/H38-261126-0001",
        "../../000.00.21.H38-261126-0001",
        "000.00.21.H38-261126-0001/withdraw",
        "000.00.21.H38_261126_0001",
        "%00",
        "A" * 41 + "-261126-0001",  # agency part over 40 characters
    ],
)
def test_other_texts_are_not_dossier_codes(text: str) -> None:
    assert not is_dossier_code(text)


def test_a_code_with_a_trailing_newline_is_not_a_dossier_code() -> None:
    """Regression: the pattern ended with $ under re.match, which allows a final newline."""
    assert not is_dossier_code("000.00.21.H38-261126-0001\n")


def test_non_ascii_digits_are_not_dossier_codes() -> None:
    """Regression: \\d matched fullwidth and other non-ASCII digits."""
    assert not is_dossier_code("000.00.21.H38-２６１１２６-０００１")
    assert not is_dossier_code("000.00.21.H38-261126-٠٠٠١")


# --------------------------------------------------------------------------- server-owned fields


@pytest.mark.parametrize("field", sorted(SERVER_OWNED_FIELDS))
def test_server_owned_fields_are_refused(field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        refuse_server_owned({**sample_body(), field: "x"})
    assert refused.value.code == "server_owned_field"
    assert refused.value.field == field
    assert field in refused.value.message


def test_server_owned_fields_are_the_designed_ones() -> None:
    assert {"code", "status", "status_code", "owner", "fee", "fee_vnd", "submitted_at", "received_at",
            "due_at", "updated_at", "history", "result", "agency_code", "rated_at"} == SERVER_OWNED_FIELDS


def test_several_server_owned_fields_are_all_named_first_one_as_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_submission_envelope({**sample_body(), "status": 9, "code": "X", "owner": "me"})
    assert refused.value.field == "code"
    assert "code, owner, status" in refused.value.message


def test_the_envelope_is_checked_before_the_procedure_is_fetched() -> None:
    assert parse_submission_envelope(sample_body())[0] == "2.000488"
    with pytest.raises(ValidationFailed) as failed:
        parse_submission_envelope({"procedure_code": "", "applicant": [], "documents": {}, "extra": 1})
    assert set(error_fields(failed)) == {"procedure_code", "applicant", "documents", "form", "extra"}


# --------------------------------------------------------------------------- the applicant


def test_a_valid_submission(sample_procedure: Procedure) -> None:
    submission = validate_submission(sample_procedure, sample_body())
    assert submission.procedure_code == "2.000488"
    assert submission.applicant == create_applicant()
    assert submission.form == {"purpose": "Xin việc làm", "birth_date": "1990-05-17"}
    assert submission.documents == (DocumentRef("to_khai", "u1"),)


@pytest.mark.parametrize("id_number", ["068090001234", "001203012345", "079199000001"])
def test_twelve_digit_citizen_identity_numbers(sample_procedure: Procedure, id_number: str) -> None:
    body = sample_body(applicant=create_applicant(id_number=id_number))
    assert validate_submission(sample_procedure, body).applicant["id_number"] == id_number


@pytest.mark.parametrize(
    "id_number",
    [
        "068090001",  # the old 9-digit ID card, expired at the end of 2024
        "06809000123",
        "0680900012345",
        "06809000123A",
        "0680 9000 1234",
        "068-090-001-234",
        "",
    ],
)
def test_other_id_numbers_are_refused(sample_procedure: Procedure, id_number: str) -> None:
    fields = refusal(sample_procedure, sample_body(applicant=create_applicant(id_number=id_number)))
    assert set(fields) == {"applicant.id_number"}


def test_a_malformed_id_number_is_named_by_its_title(sample_procedure: Procedure) -> None:
    fields = refusal(sample_procedure, sample_body(applicant=create_applicant(id_number="06809000123A")))
    assert fields == {"applicant.id_number":
                      "phải là số định danh cá nhân 12 chữ số / must be a valid 12-digit personal ID number"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("id_number", "068090001234\n", id="id-trailing-newline"),
        pytest.param("id_number", "٠٦٨٠٩٠٠٠١٢٣٤", id="id-arabic-indic-digits"),
        pytest.param("id_number", "０６８０９０００１２３４", id="id-fullwidth-digits"),
        pytest.param("phone", "0912345678\n", id="phone-trailing-newline"),
        pytest.param("phone", "+84912345678\n", id="phone-plus84-trailing-newline"),
        pytest.param("phone", "09１２３４５６７８", id="phone-fullwidth-digits"),
    ],
)
def test_id_numbers_and_phones_are_ascii_digits_only(sample_procedure: Procedure, field: str,
                                                     value: str) -> None:
    """Regression: \\d matched non-ASCII digits and $ let a final newline through."""
    fields = refusal(sample_procedure, sample_body(applicant=create_applicant(**{field: value})))
    assert set(fields) == {f"applicant.{field}"}


@pytest.mark.parametrize(
    "phone",
    ["0912345678", "0987654321", "0387654321", "0356789012", "0701234567", "0812345678", "0523456789",
     "+84912345678", "+84387654321"],
)
def test_vietnamese_mobile_numbers(sample_procedure: Procedure, phone: str) -> None:
    body = sample_body(applicant=create_applicant(phone=phone))
    assert validate_submission(sample_procedure, body).applicant["phone"] == phone


@pytest.mark.parametrize(
    "phone",
    [
        "912345678",  # no leading 0
        "84912345678",  # country code without +
        "+840912345678",
        "0212345678",  # landline prefix
        "0112345678",
        "091234567",  # 9 digits
        "09123456789",  # 11 digits
        "0912 345 678",
        "0912-345-678",
        "(091)2345678",
        "",
    ],
)
def test_other_phone_numbers_are_refused(sample_procedure: Procedure, phone: str) -> None:
    fields = refusal(sample_procedure, sample_body(applicant=create_applicant(phone=phone)))
    assert set(fields) == {"applicant.phone"}


@pytest.mark.parametrize("missing", ["full_name", "id_number", "phone", "address"])
def test_each_missing_applicant_field_is_named(sample_procedure: Procedure, missing: str) -> None:
    applicant = create_applicant()
    del applicant[missing]
    fields = refusal(sample_procedure, sample_body(applicant=applicant))
    assert fields == {f"applicant.{missing}": "bắt buộc phải có / required"}


def test_all_missing_applicant_fields_are_named_together(sample_procedure: Procedure) -> None:
    fields = refusal(sample_procedure, sample_body(applicant={}))
    assert set(fields) == {"applicant.full_name", "applicant.id_number", "applicant.phone",
                           "applicant.address"}


def test_email_is_optional_but_checked(sample_procedure: Procedure) -> None:
    applicant = create_applicant()
    del applicant["email"]
    assert "email" not in validate_submission(sample_procedure, sample_body(applicant=applicant)).applicant
    fields = refusal(sample_procedure, sample_body(applicant=create_applicant(email="not an email")))
    assert fields == {"applicant.email": "phải là địa chỉ thư điện tử / must be a valid email address"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"full_name": "Nguyễn Văn 2"}, "applicant.full_name"),
        ({"full_name": "<script>"}, "applicant.full_name"),
        ({"full_name": "A"}, "applicant.full_name"),
        ({"full_name": "A" * 101}, "applicant.full_name"),
        ({"address": "Đà"}, "applicant.address"),
        ({"address": "x" * 301}, "applicant.address"),
        ({"nickname": "An"}, "applicant.nickname"),
    ],
)
def test_applicant_rules(sample_procedure: Procedure, overrides: dict[str, str], field: str) -> None:
    assert set(refusal(sample_procedure, sample_body(applicant=create_applicant(**overrides)))) == {field}


def test_vietnamese_names_are_welcome(sample_procedure: Procedure) -> None:
    for full_name in ("Nguyễn Thị Ánh Tuyết", "Đặng Hữu Phúc", "K'Brơi", "Ka Nhơn Nguyễn Thị Hồng"):
        body = sample_body(applicant=create_applicant(full_name=full_name))
        assert validate_submission(sample_procedure, body).applicant["full_name"] == full_name


# --------------------------------------------------------------------------- level, form, documents


@pytest.mark.parametrize("level", [1, 2])
def test_levels_1_and_2_do_not_accept_online_submission(level: int) -> None:
    procedure = create_procedure("1.000001", level=level, fee_vnd=0)
    with pytest.raises(InvalidInput) as refused:
        validate_submission(procedure, sample_body(procedure_code="1.000001"))
    assert not isinstance(refused.value, ValidationFailed)
    assert refused.value.code == "online_submission_not_available"
    assert refused.value.field == "procedure_code"
    assert f"mức độ {level}" in refused.value.message and f"service level {level}" in refused.value.message


@pytest.mark.parametrize("level", [3, 4])
def test_levels_3_and_4_accept_online_submission(level: int) -> None:
    assert validate_submission(create_procedure(level=level), sample_body()).procedure_code == "2.000488"


def test_the_form_follows_the_procedures_schema(sample_procedure: Procedure) -> None:
    form = {"purpose": "X", "birth_date": "17/05/1990", "copies": 11, "note": "?"}
    fields = refusal(sample_procedure, sample_body(form=form))
    assert set(fields) == {"form.purpose", "form.birth_date", "form.copies", "form.note"}


def test_unknown_document_ids_are_refused(sample_procedure: Procedure) -> None:
    fields = refusal(sample_procedure, sample_body(documents=[
        {"document_id": "to_khai", "upload_id": "u1"},
        {"document_id": "giay_khai_sinh", "upload_id": "u2"},
    ]))
    assert list(fields) == ["documents[1].document_id"]
    assert "giay_khai_sinh" in fields["documents[1].document_id"]


def test_missing_required_documents_are_named(sample_procedure: Procedure) -> None:
    documents = [{"document_id": "uy_quyen", "upload_id": "u1"}]
    fields = refusal(sample_procedure, sample_body(documents=documents))
    assert list(fields) == ["documents.to_khai"]
    assert "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp" in fields["documents.to_khai"]
    # The optional power of attorney is never required.
    assert "documents.uy_quyen" not in refusal(sample_procedure, sample_body(documents=[]))


def test_an_upload_is_used_once_per_dossier(sample_procedure: Procedure) -> None:
    fields = refusal(sample_procedure, sample_body(documents=[
        {"document_id": "to_khai", "upload_id": "u1"},
        {"document_id": "uy_quyen", "upload_id": "u1"},
    ]))
    assert list(fields) == ["documents[1].upload_id"]
    assert "upload used twice" in fields["documents[1].upload_id"]


def test_all_problems_are_reported_at_once(sample_procedure: Procedure) -> None:
    fields = refusal(sample_procedure, sample_body(
        applicant=create_applicant(phone="123"), form={"purpose": "Xin việc"},
        documents=[{"document_id": "x", "upload_id": "u1"}],
    ))
    assert set(fields) == {"applicant.phone", "form.birth_date", "documents[0].document_id",
                           "documents.to_khai"}


# --------------------------------------------------------------------------- withdrawal


@pytest.mark.parametrize(
    ("body", "reason"),
    [({}, None), ({"reason": "Nộp nhầm thủ tục"}, "Nộp nhầm thủ tục"),
     ({"reason": "  Nộp nhầm  "}, "Nộp nhầm"), ({"reason": "   "}, None), ({"reason": ""}, None)],
)
def test_withdrawal_reason(body: dict[str, Any], reason: str | None) -> None:
    assert parse_withdrawal(body) == reason


@pytest.mark.parametrize(
    ("body", "field"),
    [({"reason": 5}, "reason"), ({"reason": None}, "reason"), ({"reason": "x" * 501}, "reason"),
     ({"why": "x"}, "why")],
)
def test_bad_withdrawals(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_withdrawal(body)
    assert list(error_fields(failed)) == [field]


@pytest.mark.parametrize("status", sorted(RATEABLE_STATUSES))
def test_a_decided_dossier_can_be_rated_once(status: DossierStatus) -> None:
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    rating = parse_rating(create_dossier(status), {"score": 4, "comment": "  Tốt  "}, at)
    assert rating == Rating(4, "Tốt", at)
    with pytest.raises(Conflict) as again:
        parse_rating(create_dossier(status, rating=rating), {"score": 5}, at)
    assert again.value.code == "already_rated"


@pytest.mark.parametrize("status", sorted(set(DossierStatus) - RATEABLE_STATUSES))
def test_an_open_or_withdrawn_dossier_cannot_be_rated(status: DossierStatus) -> None:
    with pytest.raises(Conflict) as refused:
        parse_rating(create_dossier(status), {"score": 4}, datetime(2026, 12, 1, tzinfo=UTC))
    assert refused.value.code == "not_rateable"


@pytest.mark.parametrize("body", [{}, {"score": 0}, {"score": 6}, {"score": 4.5}, {"score": "5"},
                                  {"score": 5, "comment": 1}, {"score": 5, "extra": 1},
                                  {"score": 5, "comment": "x" * 1001}])
def test_a_bad_rating_is_refused(body: dict[str, object]) -> None:
    with pytest.raises((ValidationFailed, InvalidInput)):
        parse_rating(create_dossier(DossierStatus.DONE), body, datetime(2026, 12, 1, tzinfo=UTC))


def test_a_rating_may_not_say_when_it_was_made() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rating(create_dossier(DossierStatus.DONE), {"score": 5, "rated_at": "2020-01-01"},
                     datetime(2026, 12, 1, tzinfo=UTC))
    assert refused.value.code == "server_owned_field"


@pytest.mark.parametrize(("label", "detail", "note"), [
    ("Từ chối tiếp nhận / Refused at reception", "Không thuộc thẩm quyền",
     "Từ chối tiếp nhận: Không thuộc thẩm quyền / Refused at reception: Không thuộc thẩm quyền"),
    ("Công dân rút hồ sơ / Withdrawn by the applicant", None, "Công dân rút hồ sơ / Withdrawn by the applicant"),
    ("Công dân rút hồ sơ / Withdrawn by the applicant", "", "Công dân rút hồ sơ / Withdrawn by the applicant"),
    ("Ghi chú", "x", "Ghi chú: x"),
])
def test_a_log_note_keeps_what_a_person_wrote_in_each_language(label: str, detail: str | None, note: str) -> None:
    # The web front shows one half of "Vietnamese / English": the reason must be in both.
    assert log_note(label, detail) == note
