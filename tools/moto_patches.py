"""Makes moto's DynamoDB safe to call from many threads at once.

moto's DynamoDB backend is not thread-safe: a transaction deep-copies whole tables
to roll back, and restoring that copy after a cancelled transaction would undo
writes that other threads made meanwhile. Real DynamoDB serialises conflicting
writes; one lock around every DynamoDB call gives the local stack (and threaded
tests) the same guarantee. Test and local infrastructure only: never imported by
chalicelib.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_applied = False


def serialize_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True
