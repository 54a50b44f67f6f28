"""Personal data never reaches the logs (Decree 13/2023): whatever a log line says, ID numbers,
phone numbers and e-mail addresses in its message are replaced before any handler sees it.

The code already logs no bodies, headers or personal fields; this is the net under it, for a
message someone writes later with an applicant's data in it. It is installed as the log
record factory, so it covers every logger and handler (Powertools' JSON logger included)."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Citizen identity numbers (CCCD, 12 digits) and old ID cards (9 digits).
    (re.compile(r"(?<![\w.-])(?:\d{12}|\d{9})(?![\w-])"), "[id-number]"),
    # Vietnamese mobile and landline numbers, national or +84 form, with or without spaces or dots.
    (re.compile(r"(?<![\w+])(?:\+84|84|0)[\s.]?(?:\d[\s.]?){8,9}\d?(?![\w])"), "[phone]"),
)
_installed = False
_lock = threading.Lock()


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def install_redaction() -> None:
    """Makes every new log record's message redacted (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return record  # a malformed format string: leave it to the handler's error path
            redacted = redact(message)
            if redacted != message or record.args:
                record.msg, record.args = redacted, ()
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
