"""Personal data never reaches the logs (Decree 13/2023): whatever a log line says, ID numbers,
phone numbers and e-mail addresses in its message are replaced before any handler sees it.

The code already logs no bodies, headers or personal fields; this is the net under it, for a
message someone writes later with an applicant's data in it. It is installed as the log
record factory, so it covers every logger and handler (Powertools' JSON logger included).
A logged exception is covered too: its text (``logger.exception``, a worker's failure) may quote
the value that failed, an ID number in a ``KeyError`` or a validation message."""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Citizen identity numbers (CCCD, 12 digits) and old ID cards (9 digits).
    (re.compile(r"(?<![\w.-])(?:\d{12}|\d{9})(?![\w-])"), "[id-number]"),
    # Vietnamese mobile and landline numbers, national or +84 form, with or without spaces or dots.
    (re.compile(r"(?<![\w+])(?:\+84|84|0)[\s.]?(?:\d[\s.]?){8,9}\d?(?![\w])"), "[phone]"),
)
# Third-party loggers whose INFO lines derive from personal data: fontTools' subsetter (fpdf2
# embeds a font subset in each slip and result notice) lists the glyphs of the PDF's text, that
# is which letters the applicant's name and address use.
_QUIETED_LOGGERS = ("fontTools",)
_installed = False
_lock = threading.Lock()


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactedError(Exception):
    """Stands in, in a log record, for an exception whose text carried personal data: its type's
    name and its redacted message, raised at the same place (the original traceback's frames)."""


def redact_exception(record: logging.LogRecord) -> None:
    """Replaces a record's exception by a redacted stand-in if its text (the whole chain, causes
    included) carries personal data. Handlers that use ``exc_text`` (logging's own formatters)
    print the whole redacted chain; those that format ``exc_info`` themselves (Powertools) print
    the stand-in."""
    exc_info = record.exc_info
    if not isinstance(exc_info, tuple) or exc_info[1] is None:
        return
    error = exc_info[1]
    try:
        text = "".join(traceback.format_exception(type(error), error, exc_info[2])).rstrip("\n")
        message = str(error)
    except Exception:  # an exception whose __str__ fails: the handler copes with it as before
        return
    redacted = redact(text)
    if redacted == text:
        return
    kind = type(error)
    stand_in = RedactedError(f"{kind.__module__}.{kind.__qualname__}: {redact(message)}")
    record.exc_info = (RedactedError, stand_in, exc_info[2])
    record.exc_text = redacted


def install_redaction() -> None:
    """Makes every new log record's message and exception redacted, and quiets the loggers that
    describe personal data in their own way (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_exception(record)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return record  # a malformed format string: leave it to the handler's error path
            redacted = redact(message)
            if redacted != message or record.args:
                record.msg, record.args = redacted, ()
            return record

        logging.setLogRecordFactory(factory)
        for name in _QUIETED_LOGGERS:
            quieted = logging.getLogger(name)
            quieted.setLevel(max(quieted.getEffectiveLevel(), logging.WARNING))
        _installed = True
