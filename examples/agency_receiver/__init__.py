"""Sample agency receiver for motcua's webhooks: see README.md in this folder."""

from examples.agency_receiver.receiver import (
    DECISIONS,
    ApiAnswer,
    ReceiverServer,
    ReceiverState,
    Task,
    create_server,
    post_decision,
    render_page,
    start_in_thread,
    step_kind,
)

__all__ = [
    "DECISIONS",
    "ApiAnswer",
    "ReceiverServer",
    "ReceiverState",
    "Task",
    "create_server",
    "post_decision",
    "render_page",
    "start_in_thread",
    "step_kind",
]
