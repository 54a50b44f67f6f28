"""Dossier statuses and the actions that move a dossier between them.

The workflow is data (in the spirit of DIGIT's workflow service): one table of
actions — from which statuses, to which status, by which role — run through a
single ``transition`` function. The statuses are the ten the national portal
synchronises.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from chalicelib.domain.errors import Conflict


class DossierStatus(IntEnum):
    NEW = 1
    RECEIVED = 2
    NOT_RECEIVED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    AWAITING_FEE = 6
    WITHDRAWN = 7
    STOPPED = 8
    DONE = 9
    RESULT_RETURNED = 10

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def label_vi(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


_LABELS: dict[DossierStatus, tuple[str, str]] = {
    DossierStatus.NEW: ("Mới", "New"),
    DossierStatus.RECEIVED: ("Đã tiếp nhận", "Received"),
    DossierStatus.NOT_RECEIVED: ("Không tiếp nhận", "Not received"),
    DossierStatus.PROCESSING: ("Đang xử lý", "Processing"),
    DossierStatus.SUPPLEMENT_REQUESTED: ("Yêu cầu bổ sung", "Supplement requested"),
    DossierStatus.AWAITING_FEE: ("Chờ thực hiện nghĩa vụ tài chính", "Awaiting fee payment"),
    DossierStatus.WITHDRAWN: ("Rút hồ sơ", "Withdrawn"),
    DossierStatus.STOPPED: ("Dừng xử lý", "Stopped"),
    DossierStatus.DONE: ("Đã xử lý xong", "Done"),
    DossierStatus.RESULT_RETURNED: ("Đã trả kết quả", "Result returned"),
}

FINAL_STATUSES = frozenset(
    {
        DossierStatus.NOT_RECEIVED,
        DossierStatus.WITHDRAWN,
        DossierStatus.STOPPED,
        DossierStatus.RESULT_RETURNED,
    }
)


class Role:
    CITIZEN = "citizen"
    RECEPTION = "reception"
    PROCESSING = "processing"
    SYSTEM = "system"


@dataclass(frozen=True)
class Action:
    name: str
    from_statuses: frozenset[DossierStatus | None]
    to_status: DossierStatus
    roles: frozenset[str]


_S = DossierStatus
# A citizen may withdraw any dossier not yet decided (Decree 61/2018 art. 21 lets the
# applicant withdraw; a decided or closed dossier has nothing left to withdraw).
_OPEN_FOR_WITHDRAWAL = frozenset({_S.NEW, _S.RECEIVED, _S.PROCESSING, _S.SUPPLEMENT_REQUESTED, _S.AWAITING_FEE})

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("submit", frozenset({None}), _S.NEW, frozenset({Role.CITIZEN})),
        Action("receive", frozenset({_S.NEW}), _S.RECEIVED, frozenset({Role.RECEPTION})),
        Action("refuse", frozenset({_S.NEW}), _S.NOT_RECEIVED, frozenset({Role.RECEPTION})),
        Action(
            "request_supplement",
            frozenset({_S.NEW, _S.PROCESSING}),
            _S.SUPPLEMENT_REQUESTED,
            frozenset({Role.RECEPTION, Role.PROCESSING}),
        ),
        Action("start_processing", frozenset({_S.RECEIVED, _S.PROCESSING}), _S.PROCESSING,
               frozenset({Role.SYSTEM})),
        Action("request_fee", frozenset({_S.RECEIVED, _S.PROCESSING}), _S.AWAITING_FEE,
               frozenset({Role.SYSTEM})),
        Action("record_payment", frozenset({_S.AWAITING_FEE}), _S.PROCESSING, frozenset({Role.SYSTEM})),
        Action("reject", frozenset({_S.PROCESSING}), _S.STOPPED, frozenset({Role.PROCESSING})),
        Action("approve_step", frozenset({_S.PROCESSING}), _S.PROCESSING, frozenset({Role.PROCESSING})),
        Action("supplement_reception", frozenset({_S.SUPPLEMENT_REQUESTED}), _S.NEW, frozenset({Role.CITIZEN})),
        Action("supplement_processing", frozenset({_S.SUPPLEMENT_REQUESTED}), _S.PROCESSING,
               frozenset({Role.CITIZEN})),
        Action("supplement_expired", frozenset({_S.SUPPLEMENT_REQUESTED}), _S.STOPPED, frozenset({Role.SYSTEM})),
        Action("fee_expired", frozenset({_S.AWAITING_FEE}), _S.STOPPED, frozenset({Role.SYSTEM})),
        Action("approve_final", frozenset({_S.PROCESSING}), _S.DONE, frozenset({Role.PROCESSING})),
        Action("return_result", frozenset({_S.DONE}), _S.RESULT_RETURNED,
               frozenset({Role.SYSTEM, Role.CITIZEN})),
        Action("withdraw", _OPEN_FOR_WITHDRAWAL, _S.WITHDRAWN, frozenset({Role.CITIZEN})),
    )
}


# Progress-log lines that record an event without moving the dossier: a missed deadline's
# apology (slip 04) and its escalation; the fee wait skipped for an exempt applicant.
APOLOGISE = "apologise"
ESCALATE = "escalate"
FEE_EXEMPTED = "fee_exempted"
PAYMENT_FAILED = "payment_failed"
LOG_ONLY_ACTIONS = frozenset({APOLOGISE, ESCALATE, FEE_EXEMPTED, PAYMENT_FAILED})


def transition(current: DossierStatus | None, action_name: str, role: str) -> DossierStatus:
    """The status a dossier moves to, or ``Conflict`` if the action does not apply."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise Conflict(f"Hành động không hợp lệ / Unknown action: {action_name}", code="unknown_action")
    if role not in action.roles:
        raise Conflict(
            f"Vai trò {role} không được thực hiện '{action_name}' / Role {role} may not {action_name}",
            code="action_not_allowed",
        )
    if current not in action.from_statuses:
        shown = current.label_vi if current is not None else "—"
        shown_en = current.label_en if current is not None else "none"
        raise Conflict(
            f"Không thể '{action_name}' khi hồ sơ đang ở trạng thái {shown} / "
            f"Cannot {action_name} a dossier that is {shown_en}",
            code="invalid_status",
        )
    return action.to_status
