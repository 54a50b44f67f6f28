"""One botocore session per process, shared by the app's clients and PynamoDB's (cold start)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib.integrations import aws
from chalicelib.store import models as m


@pytest.fixture
def fresh_session(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws, "_session", None)
    aws.client.cache_clear()


def test_the_first_client_creates_the_session_without_deadlock(fresh_session: None) -> None:
    made: list[Any] = []
    worker = threading.Thread(target=lambda: made.append(aws.client("sqs", "ap-southeast-1")), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert made, "creating the first client did not finish"
    assert aws.session() is aws.session()
    assert aws.client("sqs", "ap-southeast-1") is made[0]


def test_every_item_class_shares_one_connection_on_the_shared_session(fresh_session: None) -> None:
    m.bind_table("motcua-test", "ap-southeast-1")
    connection = m.TableItem._get_connection()
    assert m.ProcedureItem._get_connection() is connection
    assert m.DossierItem._get_connection() is connection
    assert connection.connection.session is aws.session()


def test_concurrent_first_clients_all_succeed(fresh_session: None) -> None:
    services = ["sqs", "stepfunctions", "s3", "sesv2"] * 2
    made: dict[int, Any] = {}
    errors: list[BaseException] = []

    def make(index: int, service: str) -> None:
        try:
            made[index] = aws.client(service, "ap-southeast-1")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=make, args=(i, s), daemon=True) for i, s in enumerate(services)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(made) == len(services)
