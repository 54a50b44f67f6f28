"""The route's callbacks: a schedule's rarer answers go as task failures whose cause is the answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.integrations import sfn


class FakeStepFunctions:
    def __init__(self) -> None:
        self.failures: list[dict[str, Any]] = []

    def send_task_failure(self, **kwargs: Any) -> None:
        self.failures.append(kwargs)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> tuple[sfn.RouteEngine, FakeStepFunctions]:
    fake = FakeStepFunctions()
    monkeypatch.setattr(sfn.RouteEngine, "_sfn", property(lambda self: fake))
    return sfn.RouteEngine("ap-southeast-1", "arn:aws:states:ap-southeast-1:1:stateMachine:route"), fake


def test_a_branch_answer_is_the_whole_answer_as_the_cause(engine: tuple[sfn.RouteEngine, FakeStepFunctions]) -> None:
    route, fake = engine
    # More parallel agencies than a stop's 256-character cause would hold: never cut.
    answer = {"lead": {"task_id": "a" * 22, "timeout_seconds": 86400},
              "helpers": [{"task_id": f"{'b' * 20}H{n}", "timeout_seconds": 172800} for n in range(1, 9)],
              "supplement_timeout_seconds": 2592000}
    assert route.branch("token-1", sfn.HELPERS_ERROR, answer) is True
    (sent,) = fake.failures
    assert (sent["taskToken"], sent["error"]) == ("token-1", "Motcua.Helpers")
    assert len(sent["cause"]) > 256 and json.loads(sent["cause"]) == answer


def test_an_answer_too_long_for_a_cause_is_refused_not_cut(engine: tuple[sfn.RouteEngine, FakeStepFunctions]) -> None:
    route, fake = engine
    with pytest.raises(ValueError, match="too long"):
        route.branch("token-1", sfn.AWAIT_FEE_ERROR, {"note": "x" * 40000})
    assert fake.failures == []
