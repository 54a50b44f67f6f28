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
