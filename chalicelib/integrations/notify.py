"""Citizen notifications: email through SES, SMS through SNS.

A notification never undoes what it reports: every failure is logged and
swallowed. Logs never carry the recipient's address or phone number (Decree
13/2023), nor the provider's error message (which may quote them): only what
happened and the provider's error code.
"""

from __future__ import annotations

import logging
import re

from chalicelib.domain.notifications import Message
from chalicelib.integrations.aws import client

logger = logging.getLogger(__name__)

_CHARSET = "UTF-8"
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_VN_E164 = re.compile(r"\+84[1-9][0-9]{7,9}")


def e164_vn(phone: str) -> str | None:
    """A Vietnamese phone number in E.164 (``0912345678`` → ``+84912345678``), or ``None``."""
    number = _PHONE_SEPARATORS.sub("", phone)
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("0"):
        number = "+84" + number[1:]
    elif number.startswith("84") and len(number) >= 10:
        number = "+" + number
    return number if _VN_E164.fullmatch(number) else None


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


class Notifier:
    """Sends one message by email (if a sender is configured) and SMS (if switched on)."""

    def __init__(self, region: str, from_email: str, sms_enabled: bool) -> None:
        self._region = region
        self.from_email = from_email
        self.sms_enabled = sms_enabled

    @property
    def enabled(self) -> bool:
        return bool(self.from_email) or self.sms_enabled

    def send(self, to_email: str | None, to_phone: str | None, message: Message) -> None:
        if self.from_email and to_email:
            self._email(to_email, message)
        if self.sms_enabled and to_phone:
            self._sms(to_phone, message)

    def _email(self, to_email: str, message: Message) -> None:
        try:
            client("ses", self._region).send_email(
                Source=self.from_email,
                Destination={"ToAddresses": [to_email]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": _CHARSET},
                    "Body": {"Text": {"Data": message.text, "Charset": _CHARSET}},
                },
            )
        except Exception as error:  # a notification must not undo a status change
            logger.warning("email failed: %s", _error_code(error))
        else:
            logger.info("email sent")

    def _sms(self, to_phone: str, message: Message) -> None:
        number = e164_vn(to_phone)
        if number is None:
            logger.warning("sms skipped: phone number not recognised")
            return
        try:
            client("sns", self._region).publish(
                PhoneNumber=number,
                Message=message.sms,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                },
            )
        except Exception as error:  # a notification must not undo a status change
            logger.warning("sms failed: %s", _error_code(error))
        else:
            logger.info("sms sent")
