"""Citizen notifications through SES and SNS, on moto in-process: what lands there, and what never does."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.domain.notifications import Message
from chalicelib.domain.workflow import DossierStatus
from chalicelib.integrations import notify
from chalicelib.integrations.notify import Notifier, e164_vn
from chalicelib.services.notifications import notify_citizen
from tests.conftest import REGION
from tests.factories import create_applicant

S = DossierStatus
CODE = "000.00.21.H38-261126-0001"
SUBMITTED = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)  # 17:00 in Vietnam
APPLICANT = create_applicant()  # phone 0912345678, email an.nguyen@example.vn
REFUSAL = LogEntry(at=SUBMITTED, actor="desk-officer", action="refuse", from_status=S.NEW,
                   to_status=S.NOT_RECEIVED, note="Hồ sơ không thuộc thẩm quyền của Sở Tư pháp.")
RECEIPT = LogEntry(at=SUBMITTED, actor="desk-officer", action="receive", from_status=S.NEW,
                   to_status=S.RECEIVED)


def make_dossier(**applicant: str) -> Dossier:
    return Dossier(
        code=CODE, procedure_code="2.000488", procedure_name="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
        agency_code="000.00.21.H38", owner="citizen-sub-1", applicant=create_applicant(**applicant),
        form={"purpose": "Xin việc làm", "birth_date": "1990-05-17"}, documents=(), status=S.RECEIVED,
        submitted_at=SUBMITTED, due_at=DUE, updated_at=SUBMITTED, fee_vnd=200000, fee_status="unpaid",
    )


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the app logged (botocore's own debug log is not ours, and is off in Lambda)."""
    return "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("chalicelib"))


@pytest.fixture
def channels_on(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The aws fixture's verified sender, SMS on, and the web front's tracker."""
    monkeypatch.setenv("MOTCUA_NOTIFY_SMS", "on")
    monkeypatch.setenv("MOTCUA_PUBLIC_TRACK_URL", "https://dichvucong.lamdong.gov.vn/tra-cuu?ma={code}")
    return aws


def test_the_sender_is_verified_by_the_template(aws: dict[str, str]) -> None:
    import boto3

    ses = boto3.client("ses", region_name=REGION)
    assert aws["NotifyFromEmail"] == "no-reply@motcua.example"
    assert aws["NotifyFromEmail"] in ses.list_identities(IdentityType="EmailAddress")["Identities"]


def test_a_status_change_is_emailed_and_texted(channels_on: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    notify_citizen(make_dossier(), REFUSAL)

    (email,) = sent_emails()
    assert email.source == channels_on["NotifyFromEmail"]
    assert email.destinations["ToAddresses"] == ["an.nguyen@example.vn"]
    assert not email.destinations.get("CcAddresses") and not email.destinations.get("BccAddresses")
    assert email.subject == f"Hồ sơ {CODE}: Không tiếp nhận / Dossier {CODE}: Not received"
    assert "Ghi chú: Hồ sơ không thuộc thẩm quyền của Sở Tư pháp." in email.body
    assert "Note: Hồ sơ không thuộc thẩm quyền của Sở Tư pháp." in email.body
    assert f"Tra cứu tiến độ hồ sơ: https://dichvucong.lamdong.gov.vn/tra-cuu?ma={CODE}" in email.body

    ((phone, text),) = sent_sms()
    assert phone == "+84912345678"
    assert text == (f"Ho so {CODE} (Cap Phieu ly lich tu phap cho cong dan Viet Nam): Khong tiep nhan "
                    "(Not received). Ghi chu: Ho so khong thuoc tham quyen cua So Tu phap. "
                    f"Tra cuu: https://dichvucong.lamdong.gov.vn/tra-cuu?ma={CODE}")

    logged = our_log(caplog)
    assert logged.splitlines() == ["email sent", "sms sent"]
    for secret in ("an.nguyen@example.vn", "0912345678", "912345678", APPLICANT["id_number"]):
        assert secret not in logged


def test_the_email_has_the_appointment_in_vietnam_time(channels_on: dict[str, str]) -> None:
    notify_citizen(make_dossier(), RECEIPT)
    (email,) = sent_emails()
    assert "Ngày hẹn trả kết quả: 10/12/2026 17:00 (giờ Việt Nam)" in email.body
    ((_, text),) = sent_sms()
    assert "Han: 10/12/2026 17:00." in text


def test_no_personal_data_reaches_ses_or_sns(channels_on: dict[str, str]) -> None:
    notify_citizen(make_dossier(), RECEIPT)
    (email,) = sent_emails()
    ((_, text),) = sent_sms()
    for secret in (APPLICANT["id_number"], APPLICANT["address"], APPLICANT["full_name"], "Xin việc làm",
                   "Xin viec lam", "1990-05-17", "Trần Phú", "Tran Phu"):
        assert secret not in email.subject and secret not in email.body and secret not in text


def test_an_entry_that_changes_no_status_sends_nothing(channels_on: dict[str, str]) -> None:
    step = LogEntry(at=SUBMITTED, actor="justice", action="approve_step", from_status=S.PROCESSING,
                    to_status=S.PROCESSING)
    notify_citizen(make_dossier(), step)
    assert sent_emails() == [] and sent_sms() == []


def test_both_channels_off_send_nothing(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_NOTIFY_FROM_EMAIL", "")
    monkeypatch.setenv("MOTCUA_NOTIFY_SMS", "off")
    notify_citizen(make_dossier(), REFUSAL)
    assert sent_emails() == [] and sent_sms() == []


def test_sms_is_off_by_default(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTCUA_NOTIFY_SMS", raising=False)
    notify_citizen(make_dossier(), REFUSAL)
    assert len(sent_emails()) == 1
    assert sent_sms() == []


def test_email_off_still_texts(channels_on: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_NOTIFY_FROM_EMAIL", "")
    notify_citizen(make_dossier(), REFUSAL)
    assert sent_emails() == []
    assert [phone for phone, _ in sent_sms()] == ["+84912345678"]


def test_an_applicant_without_email_is_only_texted(channels_on: dict[str, str]) -> None:
    dossier = make_dossier()
    del dossier.applicant["email"]
    notify_citizen(dossier, REFUSAL)
    assert sent_emails() == []
    assert len(sent_sms()) == 1


def test_an_ses_failure_is_logged_not_raised(channels_on: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MOTCUA_NOTIFY_FROM_EMAIL", "unverified@lamdong.example")
    caplog.set_level(logging.INFO)

    notify_citizen(make_dossier(), REFUSAL)  # does not raise

    assert sent_emails() == []
    assert ses_backends[DEFAULT_ACCOUNT_ID][REGION].rejected_messages_count == 1
    assert len(sent_sms()) == 1  # the other channel still goes out
    assert "email failed: MessageRejected" in our_log(caplog)
    # SES's error message quotes the addresses; the log must not.
    assert "an.nguyen@example.vn" not in our_log(caplog) and "unverified@" not in our_log(caplog)


class _Refusing:
    def publish(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded for +84912345678"}},
                          "Publish")

    def send_email(self, **_: Any) -> None:
        raise ConnectionError("could not reach ses for an.nguyen@example.vn")


def test_provider_errors_are_logged_by_code_only(monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(notify, "client", lambda service, region: _Refusing())
    caplog.set_level(logging.INFO)

    Notifier(REGION, "no-reply@motcua.example", True).send("an.nguyen@example.vn", "0912345678",
                                                           Message("s", "t", "sms"))

    assert "email failed: ConnectionError" in our_log(caplog)
    assert "sms failed: Throttling" in our_log(caplog)
    assert "an.nguyen" not in our_log(caplog) and "912345678" not in our_log(caplog)


def test_an_unrecognised_phone_number_is_skipped(channels_on: dict[str, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    notify_citizen(make_dossier(phone="12345"), REFUSAL)
    assert sent_sms() == []
    assert len(sent_emails()) == 1
    assert "sms skipped" in our_log(caplog) and "12345" not in our_log(caplog)


@pytest.mark.parametrize(("phone", "expected"), [
    ("0912345678", "+84912345678"),
    ("+84912345678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("0091 234 5678", None),
    ("0084912345678", "+84912345678"),
    ("091 234.56-78", "+84912345678"),
    ("(0263) 382 2222", "+842633822222"),  # a landline has one digit more
    ("12345", None),
    ("+14155550100", None),  # not Vietnamese
    ("", None),
])
def test_e164_vn(phone: str, expected: str | None) -> None:
    assert e164_vn(phone) == expected
