"""The slips of Circular 01/2018/TT-VPCP (art. 9) a dossier collects on its way.

01 receipt and appointment, 02 supplement request (everything missing, at once),
03 refusal, 04 apology with a new return date (once per dossier), 05 the
processing-control slip — the progress log itself — and 06 the tracking book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class SlipNumber(IntEnum):
    RECEIPT = 1
    SUPPLEMENT_REQUEST = 2
    REFUSAL = 3
    APOLOGY = 4
    PROCESSING_CONTROL = 5

    @property
    def title_vi(self) -> str:
        return _TITLES[self][0]

    @property
    def title_en(self) -> str:
        return _TITLES[self][1]

    @property
    def form_number(self) -> str:
        return f"Mẫu số {int(self):02d}"


_TITLES: dict[SlipNumber, tuple[str, str]] = {
    SlipNumber.RECEIPT: ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Receipt and appointment"),
    SlipNumber.SUPPLEMENT_REQUEST: ("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Request to supplement the dossier"),
    SlipNumber.REFUSAL: ("Phiếu từ chối tiếp nhận giải quyết hồ sơ", "Refusal to receive the dossier"),
    SlipNumber.APOLOGY: ("Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Apology and new return date"),
    SlipNumber.PROCESSING_CONTROL: ("Phiếu kiểm soát quá trình giải quyết hồ sơ", "Processing-control slip"),
}


@dataclass(frozen=True)
class Slip:
    number: SlipNumber
    issued_at: datetime
    issued_by: str  # agency code
    details: dict[str, Any] = field(default_factory=dict)


def receipt(at: datetime, agency: str, appointment: datetime) -> Slip:
    return Slip(SlipNumber.RECEIPT, at, agency, {"appointment_at": appointment.isoformat()})


def supplement_request(at: datetime, agency: str, missing: str) -> Slip:
    return Slip(SlipNumber.SUPPLEMENT_REQUEST, at, agency, {"missing": missing})


def refusal(at: datetime, agency: str, reason: str) -> Slip:
    return Slip(SlipNumber.REFUSAL, at, agency, {"reason": reason})


def apology(at: datetime, agency: str, previous_due: datetime, new_due: datetime) -> Slip:
    return Slip(SlipNumber.APOLOGY, at, agency, {"previous_due_at": previous_due.isoformat(),
                                                 "new_due_at": new_due.isoformat()})
