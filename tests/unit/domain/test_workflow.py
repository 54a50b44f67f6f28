"""Dossier statuses and the action table, written out by hand from the design
(DESIGN.md "Statuses", Decree 61/2018) rather than derived from the code."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.workflow import ACTIONS, FINAL_STATUSES, DossierStatus, Role, transition

S = DossierStatus
ALL_ROLES = (Role.CITIZEN, Role.RECEPTION, Role.PROCESSING, Role.SYSTEM)
ALL_FROM: tuple[DossierStatus | None, ...] = (None, *DossierStatus)

# action: (allowed from-statuses, to-status, allowed roles)
EXPECTED_ACTIONS: dict[str, tuple[set[DossierStatus | None], DossierStatus, set[str]]] = {
    "submit": ({None}, S.NEW, {Role.CITIZEN}),
    "receive": ({S.NEW}, S.RECEIVED, {Role.RECEPTION}),
    "refuse": ({S.NEW}, S.NOT_RECEIVED, {Role.RECEPTION}),
    "request_supplement": ({S.NEW, S.PROCESSING}, S.SUPPLEMENT_REQUESTED, {Role.RECEPTION, Role.PROCESSING}),
    "start_processing": ({S.RECEIVED, S.PROCESSING}, S.PROCESSING, {Role.SYSTEM}),
    "request_fee": ({S.RECEIVED, S.PROCESSING}, S.AWAITING_FEE, {Role.SYSTEM}),
    "record_payment": ({S.AWAITING_FEE}, S.PROCESSING, {Role.SYSTEM}),
    "reject": ({S.PROCESSING}, S.STOPPED, {Role.PROCESSING}),
    "approve_final": ({S.PROCESSING}, S.DONE, {Role.PROCESSING}),
    "approve_step": ({S.PROCESSING}, S.PROCESSING, {Role.PROCESSING}),
    "supplement_reception": ({S.SUPPLEMENT_REQUESTED}, S.NEW, {Role.CITIZEN}),
    "supplement_processing": ({S.SUPPLEMENT_REQUESTED}, S.PROCESSING, {Role.CITIZEN}),
    "supplement_expired": ({S.SUPPLEMENT_REQUESTED}, S.STOPPED, {Role.SYSTEM}),
    "fee_expired": ({S.AWAITING_FEE}, S.STOPPED, {Role.SYSTEM}),
    "return_result": ({S.DONE}, S.RESULT_RETURNED, {Role.SYSTEM, Role.CITIZEN}),
    "withdraw": ({S.NEW, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.AWAITING_FEE}, S.WITHDRAWN,
                 {Role.CITIZEN}),
}

ALLOWED = [
    (action, current, role, to_status)
    for action, (froms, to_status, roles) in EXPECTED_ACTIONS.items()
    for current in sorted(froms, key=lambda s: 0 if s is None else int(s))
    for role in sorted(roles)
]
REFUSED_STATUSES = [
    (action, current, sorted(roles)[0])
    for action, (froms, _, roles) in EXPECTED_ACTIONS.items()
    for current in ALL_FROM
    if current not in froms
]
REFUSED_ROLES = [
    (action, next(iter(sorted(froms, key=lambda s: 0 if s is None else int(s)))), role)
    for action, (froms, _, roles) in EXPECTED_ACTIONS.items()
    for role in ALL_ROLES
    if role not in roles
]


def name(value: object) -> str:
    return value.name if isinstance(value, DossierStatus) else str(value)


def test_the_action_table_is_the_designed_one() -> None:
    assert set(ACTIONS) == set(EXPECTED_ACTIONS)
    for action_name, (froms, to_status, roles) in EXPECTED_ACTIONS.items():
        action = ACTIONS[action_name]
        assert action.name == action_name
        assert set(action.from_statuses) == froms, action_name
        assert action.to_status is to_status, action_name
        assert set(action.roles) == roles, action_name


@pytest.mark.parametrize(("action", "current", "role", "expected"), ALLOWED, ids=name)
def test_allowed_transitions(action: str, current: DossierStatus | None, role: str,
                             expected: DossierStatus) -> None:
    assert transition(current, action, role) is expected


@pytest.mark.parametrize(("action", "current", "role"), REFUSED_STATUSES, ids=name)
def test_refused_from_statuses(action: str, current: DossierStatus | None, role: str) -> None:
    with pytest.raises(Conflict) as refused:
        transition(current, action, role)
    assert refused.value.code == "invalid_status"
    message = refused.value.message
    assert f"'{action}'" in message and f"Cannot {action}" in message
    if current is not None:
        assert current.label_vi in message and current.label_en in message


@pytest.mark.parametrize(("action", "current", "role"), REFUSED_ROLES, ids=name)
def test_refused_roles(action: str, current: DossierStatus | None, role: str) -> None:
    with pytest.raises(Conflict) as refused:
        transition(current, action, role)
    assert refused.value.code == "action_not_allowed"
    assert role in refused.value.message


def test_the_role_is_checked_before_the_status() -> None:
    with pytest.raises(Conflict) as refused:
        transition(S.DONE, "receive", Role.CITIZEN)
    assert refused.value.code == "action_not_allowed"


@pytest.mark.parametrize("action", ["", "delete", "WITHDRAW", "approve"])
def test_unknown_actions_are_refused(action: str) -> None:
    with pytest.raises(Conflict) as refused:
        transition(S.NEW, action, Role.SYSTEM)
    assert refused.value.code == "unknown_action"


def test_a_citizen_withdraws_until_the_dossier_is_decided() -> None:
    for status in (S.NEW, S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.AWAITING_FEE):
        assert transition(status, "withdraw", Role.CITIZEN) is S.WITHDRAWN
    for status in (S.NOT_RECEIVED, S.WITHDRAWN, S.STOPPED, S.DONE, S.RESULT_RETURNED):
        with pytest.raises(Conflict):
            transition(status, "withdraw", Role.CITIZEN)


def test_the_ten_statuses_of_the_national_portal() -> None:
    assert [(int(s), s.slug) for s in DossierStatus] == [
        (1, "new"),
        (2, "received"),
        (3, "not_received"),
        (4, "processing"),
        (5, "supplement_requested"),
        (6, "awaiting_fee"),
        (7, "withdrawn"),
        (8, "stopped"),
        (9, "done"),
        (10, "result_returned"),
    ]


@pytest.mark.parametrize(
    ("status", "label_vi", "label_en"),
    [
        (S.NEW, "Mới", "New"),
        (S.RECEIVED, "Đã tiếp nhận", "Received"),
        (S.NOT_RECEIVED, "Không tiếp nhận", "Not received"),
        (S.PROCESSING, "Đang xử lý", "Processing"),
        (S.SUPPLEMENT_REQUESTED, "Yêu cầu bổ sung", "Supplement requested"),
        (S.AWAITING_FEE, "Chờ thực hiện nghĩa vụ tài chính", "Awaiting fee payment"),
        (S.WITHDRAWN, "Rút hồ sơ", "Withdrawn"),
        (S.STOPPED, "Dừng xử lý", "Stopped"),
        (S.DONE, "Đã xử lý xong", "Done"),
        (S.RESULT_RETURNED, "Đã trả kết quả", "Result returned"),
    ],
    ids=name,
)
def test_labels_in_vietnamese_and_english(status: DossierStatus, label_vi: str, label_en: str) -> None:
    assert status.label_vi == label_vi
    assert status.label_en == label_en


def test_final_statuses() -> None:
    assert {S.NOT_RECEIVED, S.WITHDRAWN, S.STOPPED, S.RESULT_RETURNED} == FINAL_STATUSES
    assert [s for s in DossierStatus if s.is_final] == [S.NOT_RECEIVED, S.WITHDRAWN, S.STOPPED,
                                                        S.RESULT_RETURNED]
    # Done still has its result to return.
    assert not S.DONE.is_final


def test_no_action_leaves_a_final_status_and_every_status_is_reachable() -> None:
    for action in ACTIONS.values():
        assert not FINAL_STATUSES.intersection(s for s in action.from_statuses if s is not None), action.name
    assert {action.to_status for action in ACTIONS.values()} == set(DossierStatus)


def test_every_non_final_status_has_a_way_out() -> None:
    for status in DossierStatus:
        if not status.is_final:
            assert any(status in action.from_statuses for action in ACTIONS.values()), status
