"""Step Functions: start a dossier's route, answer the route's callbacks."""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.integrations.aws import client

logger = logging.getLogger(__name__)

# Errors a callback answers with, for the outcomes that leave the common path: the state
# machine routes them with Catch, so a step that goes on needs no Choice state (fewer billed
# transitions). Names the definition (infra/statemachine/dossier_route.asl.json) catches.
STOPPED_ERROR = "Motcua.Stopped"
SUPPLEMENT_ERROR = "Motcua.Supplement"
# A step's schedule answers with success only for its common case (the lead agency alone); these
# carry the schedule's answer as JSON in the Cause. They are branches, not faults: the definition
# catches each one, so no execution fails for them (their TaskFailed events in an execution's
# history are expected).
AWAIT_FEE_ERROR = "Motcua.AwaitFee"
HELPERS_ERROR = "Motcua.Helpers"
SKIP_ERROR = "Motcua.Skip"
# SendTaskFailure's longest Cause.
_MAX_CAUSE = 32768
# The route moved on without this token (answered already, timed out, execution ended):
# nothing left to tell it.
_GONE = {"TaskDoesNotExist", "TaskTimedOut", "InvalidToken"}


class RouteUnavailable(RuntimeError):
    """Step Functions did not take a call (throttled, unreachable, failing): the same call may
    succeed later."""


class RouteEngine:
    def __init__(self, region: str, state_machine_arn: str) -> None:
        self._region = region
        self._state_machine_arn = state_machine_arn

    @property
    def _sfn(self) -> Any:
        return client("stepfunctions", self._region)

    def start(self, execution_name: str, payload: dict[str, Any]) -> str:
        """Starts the route once per name: a retried start finds the running execution."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._sfn.start_execution(stateMachineArn=self._state_machine_arn, name=execution_name,
                                                 input=json.dumps(payload, ensure_ascii=False))
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return self._state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"
        except (ClientError, BotoCoreError) as error:
            raise RouteUnavailable(f"could not start the route {execution_name}: {error}") from error
        started: str = response["executionArn"]
        return started

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._answer(lambda: self._sfn.send_task_success(taskToken=token, output=json.dumps(output)))

    def stop(self, token: str, cause: str) -> bool:
        """The route ends (refused, stopped, withdrawn, cancelled)."""
        return self._fail(token, STOPPED_ERROR, cause)

    def supplement(self, token: str, cause: str) -> bool:
        """The lead agency asked the citizen for a supplement: the route waits for it."""
        return self._fail(token, SUPPLEMENT_ERROR, cause)

    def branch(self, token: str, error: str, answer: dict[str, Any]) -> bool:
        """Answers a schedule with one of its rarer outcomes (``AWAIT_FEE_ERROR``, ``HELPERS_ERROR``,
        ``SKIP_ERROR``): the state machine reads ``answer`` back from the Cause."""
        cause = json.dumps(answer, separators=(",", ":"))
        if len(cause) > _MAX_CAUSE:  # never truncate: the route could not parse it back
            raise ValueError(f"route answer too long for a task failure cause: {len(cause)} characters")
        return self._answer(lambda: self._sfn.send_task_failure(taskToken=token, error=error, cause=cause))

    def _fail(self, token: str, error: str, cause: str) -> bool:
        return self._answer(lambda: self._sfn.send_task_failure(taskToken=token, error=error, cause=cause[:256]))

    def heartbeat(self, token: str) -> bool:
        return self._answer(lambda: self._sfn.send_task_heartbeat(taskToken=token))

    @staticmethod
    def _answer(call: Any) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _GONE:
                logger.info("route callback not needed any more: %s", code)
                return False
            raise RouteUnavailable(f"route callback refused: {code}") from error
        except BotoCoreError as error:
            raise RouteUnavailable(f"route callback not sent: {type(error).__name__}") from error
        return True
