"""A route execution's history as the tests and the benchmark read it (every page of it)."""

from __future__ import annotations

from typing import Any


def execution_events(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """The states entered, in order: each is a billed state transition."""
    return [str(e.get("stateEnteredEventDetails", {}).get("name", "?"))
            for e in events if str(e["type"]).endswith("StateEntered")]
