"""What the citizen is told when their dossier changes status (pure: no AWS).

One message per status change, Vietnamese first and English second: an email
(subject and plain-text body, with diacritics) and a short SMS without
diacritics (Vietnamese SMS is commonly sent that way: with them a message is
UCS-2, 70 characters a part instead of GSM's 160).

Personal data stays out of every message (Decree 13/2023): no ID number, no
address, no form data, not even the applicant's name: only the dossier code,
the procedure, the status, the officer's note, the date and the tracker link.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.domain.workflow import APOLOGISE, PAYMENT_FAILED, DossierStatus

SMS_MAX_CHARS = 300

# Statuses where the appointment date still runs and means something to the citizen.
_DUE_DATE_SHOWN = frozenset({
    DossierStatus.NEW,
    DossierStatus.RECEIVED,
    DossierStatus.PROCESSING,
    DossierStatus.AWAITING_FEE,
})


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    sms: str


# Statuses only an agency or the system moves a dossier to: the citizen learns of them from
# us. The ones a citizen's own request leads to (submitted: NEW, a supplement given: NEW or
# PROCESSING, paid: PROCESSING, withdrawn, the result downloaded: RESULT_RETURNED) the API
# already answered on screen, and PROCESSING after reception says nothing the receipt did not.
# Each e-mail costs (bench/cost.py): two per one-agency dossier instead of four.
NOTIFIED_STATUSES = frozenset({
    DossierStatus.RECEIVED,  # with its appointment date (slip 01)
    DossierStatus.NOT_RECEIVED,  # refused at reception (slip 03)
    DossierStatus.SUPPLEMENT_REQUESTED,  # slip 02: what to add
    DossierStatus.AWAITING_FEE,
    DossierStatus.STOPPED,  # rejected, or the wait for a supplement or the fee ran out
    DossierStatus.DONE,  # the result is ready
})

# Entries that leave the status as it is but change what the citizen was promised (the
# apology and new date, slip 04), or that the citizen may not have seen (Stripe reports a
# failed payment after the payment page closed).
CITIZEN_RELEVANT_ACTIONS = frozenset({APOLOGISE, PAYMENT_FAILED})


def should_notify(entry: LogEntry) -> bool:
    """Whether a progress-log entry tells the citizen something they do not already know: an
    agency or the system moved the dossier to a status of :data:`NOTIFIED_STATUSES`, or changed
    the return date."""
    moved = entry.from_status != entry.to_status and entry.to_status in NOTIFIED_STATUSES
    return moved or entry.action in CITIZEN_RELEVANT_ACTIONS


def tracker_link(template: str, code: str) -> str | None:
    """The public tracker's URL for one dossier, from the configured template.

    ``{code}`` in the template is replaced by the (URL-quoted) dossier code; a template
    without it gets ``?code=<code>`` (or ``&code=``) appended. An empty template: no link.
    """
    template = template.strip()
    if not template:
        return None
    quoted = quote(code, safe="")
    if "{code}" in template:
        return template.replace("{code}", quoted)
    return f"{template}{'&' if '?' in template else '?'}code={quoted}"


def format_local(moment: datetime) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam's time zone (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def status_message(dossier: Dossier, entry: LogEntry, *, track_url: str | None) -> Message:
    status = entry.to_status
    code = dossier.code
    procedure = _one_line(dossier.procedure_name)
    note = entry.note.strip()
    due = format_local(dossier.due_at) if status in _DUE_DATE_SHOWN else None
    paused = status is DossierStatus.SUPPLEMENT_REQUESTED

    subject = f"Hồ sơ {code}: {status.label_vi} / Dossier {code}: {status.label_en}"

    vi = ["Kính gửi Quý ông/bà,", "",
          f"Hồ sơ {code} – thủ tục “{procedure}” – đã chuyển sang trạng thái: {status.label_vi}."]
    en = ["Dear applicant,", "",
          f"Dossier {code} – procedure “{procedure}” – is now: {status.label_en}."]
    if note:
        vi.append(f"Ghi chú: {note}")
        en.append(f"Note: {note}")
    if due:
        vi.append(f"Ngày hẹn trả kết quả: {due} (giờ Việt Nam)")
        en.append(f"Appointment date for the result: {due} (Vietnam time)")
    if paused:
        vi.append("Thời hạn giải quyết tạm dừng trong khi chờ Quý ông/bà bổ sung hồ sơ.")
        en.append("The processing deadline is paused until you supplement the dossier.")
    if track_url:
        vi.append(f"Tra cứu tiến độ hồ sơ: {track_url}")
        en.append(f"Track your dossier: {track_url}")
    vi += ["", "Thư này được gửi tự động, xin vui lòng không trả lời."]
    en += ["", "This message was sent automatically; please do not reply."]
    text = "\n".join([*vi, "", "—", "", *en]) + "\n"

    return Message(subject=subject, text=text, sms=_sms(code, procedure, status, note, due, track_url))


def _sms(code: str, procedure: str, status: DossierStatus, note: str, due: str | None,
         track_url: str | None) -> str:
    """``Ho so <code> (<procedure>): <status> (<status en>). Ghi chu: <note>. Han: <date>. Tra cuu: <url>``
    without diacritics, in at most ``SMS_MAX_CHARS``: the procedure name (kept short anyway)
    and then the note are shortened to fit; the code, status and date never are, and a link
    too long to fit is left to the email."""
    head = f"Ho so {code}"
    status_part = f": {plain(status.label_vi)} ({status.label_en})."
    due_part = f" Han: {due}." if due else ""
    link_part = f" Tra cuu: {plain(track_url)}" if track_url else ""
    room = SMS_MAX_CHARS - len(head) - len(status_part) - len(due_part)
    if len(link_part) > room - _MIN_SHOWN:
        link_part = ""
    room -= len(link_part)

    procedure_text, note_text = plain(procedure), plain(note).rstrip(" .")
    wanted_for_note = len(_NOTE_BEFORE + _NOTE_AFTER) + min(len(note_text), _MIN_NOTE) if note_text else 0
    procedure_room = min(_MAX_PROCEDURE, max(_MIN_PROCEDURE, room - wanted_for_note))
    procedure_part = _wrap(procedure_text, " (", ")", procedure_room)
    note_part = _wrap(note_text, _NOTE_BEFORE, _NOTE_AFTER, room - len(procedure_part))
    return f"{head}{procedure_part}{status_part}{note_part}{due_part}{link_part}"


_NOTE_BEFORE, _NOTE_AFTER = " Ghi chu: ", "."
_MAX_PROCEDURE = 60  # " (" + name + ")": enough to recognise the procedure
_MIN_PROCEDURE = 32  # … and what it keeps whatever the note's length
_MIN_NOTE = 100  # the note (a refusal's reason, what to supplement) matters more than the name
_MIN_SHOWN = 8  # fewer characters of a text than this say nothing


def _wrap(text: str, before: str, after: str, room: int) -> str:
    """``before + text + after`` in at most ``room`` characters, the text shortened with
    ``...`` if need be, or nothing if not even a few characters of it fit."""
    if not text:
        return ""
    space = room - len(before) - len(after)
    if len(text) <= space:
        return f"{before}{text}{after}"
    if space < _MIN_SHOWN + 3:
        return ""
    # "..." already ends a sentence: no "...." before a closing full stop.
    return f"{before}{text[: space - 3].rstrip()}...{after.removeprefix('.')}"


_SPACES = re.compile(r"\s+")
_ASCII_PUNCTUATION = str.maketrans({
    "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "\u00a0": " ",
})


def plain(text: str) -> str:
    """Vietnamese without diacritics, case kept, on one line, ASCII only (fits GSM 03.38).

    ``plain("Đã tiếp nhận") == "Da tiep nhan"``.
    """
    text = text.replace("đ", "d").replace("Đ", "D").translate(_ASCII_PUNCTUATION)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    ascii_only = stripped.encode("ascii", "ignore").decode("ascii")
    return _SPACES.sub(" ", ascii_only).strip()


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
