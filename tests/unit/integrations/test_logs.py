"""No personal data in the logs, whatever a message says."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.integrations.logs import install_redaction, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("applicant 068090001234 called", "applicant [id-number] called"),
    ("old card 123456789", "old card [id-number]"),
    ("phone 0912345678", "phone [phone]"),
    ("phone +84 912 345 678", "phone [phone]"),
    ("office 0263.3822.111", "office [phone]"),
    ("mail an.nguyen@example.vn", "mail [email]"),
])
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "dossier 000.00.21.H38-261126-0001", "task 5d41402abc4b2a76b971L0", "upload 7f3a9c0e5b2d4e6f8a1b3c5d7e9f0a2b",
    "fee 200000 VND", "at 2026-11-26T09:00:00+07:00", "intent pi_3PqX2b2eZvKYlo2C1abcdEFG",
])
def test_what_ops_need_stays(text: str) -> None:
    assert redact(text) == text


def test_every_logger_and_handler_gets_the_redacted_message(caplog: pytest.LogCaptureFixture,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from aws_lambda_powertools import Logger

    install_redaction()
    install_redaction()  # twice is once
    with caplog.at_level(logging.INFO):
        logging.getLogger("chalicelib.anything").warning("applicant %s, phone %s", "068090001234", "0912345678")
    assert caplog.messages[-1] == "applicant [id-number], phone [phone]"
    Logger(service="motcua-test").info("email an.nguyen@example.vn for %s", "068090001234")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["message"] == "email [email] for [id-number]"


ID_NUMBER, EMAIL, PHONE = "068090001234", "an.nguyen@example.vn", "0912345678"


def _raise_with_personal_data() -> None:
    # The values are in variables: tracebacks show source lines, and real code has no personal data in its own.
    try:
        {"known": 1}[ID_NUMBER]
    except KeyError as error:
        raise ValueError(f"applicant {EMAIL}, phone {PHONE} not found") from error


def test_a_logged_exception_is_redacted_for_logging_s_own_formatters(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    with caplog.at_level(logging.INFO):
        try:
            _raise_with_personal_data()
        except ValueError:
            logging.getLogger("tools.queue_pump").exception("handler failed for %s", "a message")
    record = caplog.records[-1]
    text = caplog.text
    assert record.getMessage() == "handler failed for a message"
    # The whole chain, frames and the cause included, minus the personal data.
    assert "Traceback (most recent call last)" in text and "_raise_with_personal_data" in text
    assert "KeyError: '[id-number]'" in text
    assert "ValueError: applicant [email], phone [phone] not found" in text
    assert ID_NUMBER not in text and EMAIL not in text and PHONE not in text


def test_a_logged_exception_is_redacted_for_powertools(capsys: pytest.CaptureFixture[str]) -> None:
    from aws_lambda_powertools import Logger

    install_redaction()
    try:
        _raise_with_personal_data()
    except ValueError:
        Logger(service="motcua-test-exceptions").exception("handler failed")
    output = capsys.readouterr().out
    line = json.loads(output.strip().splitlines()[-1])
    assert line["message"] == "handler failed"
    assert line["exception_name"] == "RedactedError"
    assert "_raise_with_personal_data" in line["exception"]  # where it was raised still shows
    assert "builtins.ValueError: applicant [email], phone [phone] not found" in line["exception"]
    assert ID_NUMBER not in output and EMAIL not in output and PHONE not in output


def test_an_exception_without_personal_data_is_logged_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    error = KeyError("dossier 000.00.21.H38-261126-0001")
    with caplog.at_level(logging.INFO):
        try:
            raise error
        except KeyError:
            logging.getLogger("chalicelib.anything").exception("failed")
    record = caplog.records[-1]
    assert record.exc_info is not None and record.exc_info[1] is error
    assert "KeyError: 'dossier 000.00.21.H38-261126-0001'" in caplog.text


def test_an_exception_whose_text_cannot_be_read_is_left_to_the_handler(caplog: pytest.LogCaptureFixture) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    install_redaction()
    with caplog.at_level(logging.INFO):
        try:
            raise Unprintable()
        except Unprintable:
            logging.getLogger("chalicelib.anything").exception("failed")
    record = caplog.records[-1]
    assert record.getMessage() == "failed" and record.exc_info is not None
    assert isinstance(record.exc_info[1], Unprintable)


def test_the_font_subsetter_does_not_list_the_glyphs_of_a_citizen_s_pdf(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    with caplog.at_level(logging.INFO):  # as chalice local and Lambda run: INFO for the app's loggers
        logging.getLogger("fontTools.subset").info("Glyph names: %s", ["Dcroat", "uni1EA7"])
    assert not [record for record in caplog.records if record.name.startswith("fontTools")]
    assert logging.getLogger("fontTools.subset").getEffectiveLevel() >= logging.WARNING
