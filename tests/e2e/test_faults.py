"""Faults on the running local stack, handled as an operator would: an agency's webhook endpoint
down for longer than the retry window, its deliveries dead-lettered, then redriven with the ops
command line (``python -m chalicelib.ops --local webhooks redrive``, run as a subprocess)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from chalicelib.ops.environment import local_environment
from tests.e2e.conftest import ROOT, StackProcess
from tests.e2e.journey_support import Agency, api, new_citizen, submit
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

PROCEDURE = "LD.012"  # level 4, no fee: the route starts at the reception desk
APPLICANT = {"full_name": "Trần Thị Bình", "id_number": "068190004321", "phone": "0912345679",
             "address": "3 Phan Đình Phùng, phường Xuân Hương - Đà Lạt"}
RETRY_WINDOW_BUDGET = 60.0  # seconds this test may wait for a delivery to use up its attempts


def ops(stack: StackProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """The ops command line against the local stack, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "chalicelib.ops", "--local", "--state-dir", str(stack.state_dir),
                           *args], cwd=ROOT, env=StackProcess.environment(), capture_output=True, text=True,
                          timeout=120, check=False)


def retry_window(stack: StackProcess) -> tuple[int, float]:
    """The local stage's attempts per delivery and the longest time they can take (SQS delays are
    whole seconds; each attempt also waits for the pump's poll)."""
    env = local_environment(stack.state_dir)
    attempts = int(env.get("MOTCUA_WEBHOOK_MAX_ATTEMPTS") or 8)
    base = float(env.get("MOTCUA_WEBHOOK_RETRY_BASE_SECONDS") or 5)
    return attempts, sum(round(min(900.0, base * 2 ** (n - 1))) + 2.0 for n in range(1, attempts))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class CountingProxy:
    """The agency's endpoint back on its address: counts each request and passes it, as received,
    to the agency's sample receiver (which checks the signature), relaying its answer."""

    def __init__(self, port: int, target: str) -> None:
        self.requests: list[str] = []  # webhook-id of each request
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.requests.append(self.headers.get("webhook-id", ""))
                headers = {name: value for name, value in self.headers.items()
                           if name.lower().startswith("webhook-") or name.lower() == "content-type"}
                request = urllib.request.Request(target, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as error:
                    with error:
                        status, payload = error.code, error.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Queues:
    def __init__(self, stack: dict[str, Any]) -> None:
        self.sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint"],
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        self.webhooks = self.sqs.get_queue_url(QueueName="motcua-lamdong-webhooks")["QueueUrl"]
        self.dead_letters = self.sqs.get_queue_url(QueueName="motcua-lamdong-webhooks-dlq")["QueueUrl"]

    def peek(self, url: str) -> list[dict[str, Any]]:
        """The visible messages' bodies, left visible (VisibilityTimeout 0)."""
        messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                            WaitTimeSeconds=0).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(value) for value in attributes.values())


@pytest.fixture
def desk(local_stack: dict[str, Any], local_stack_process: StackProcess) -> Iterator[tuple[Agency, str]]:
    """The procedure's reception desk and its webhook URL, set back as it was after the test."""
    detail = api(local_stack, "GET", f"/procedures/{PROCEDURE}").json()
    code = detail["route"][0]["agency_code"]
    url = next(agency["webhook_url"] for agency in local_stack["agencies"] if agency["code"] == code)
    yield Agency.of(local_stack, code), url
    restored = ops(local_stack_process, "agency", "webhook", "set-url", "--agency", code, url)
    assert restored.returncode == 0, restored.stderr


def test_an_endpoint_down_too_long_is_dead_lettered_then_redriven_by_ops(
    local_stack: dict[str, Any], local_stack_process: StackProcess, desk: tuple[Agency, str]
) -> None:
    attempts, window = retry_window(local_stack_process)
    if window > RETRY_WINDOW_BUDGET:
        pytest.skip(f"the local stage retries a delivery for up to {window:.0f} s ({attempts} attempts): set "
                    "MOTCUA_WEBHOOK_MAX_ATTEMPTS and MOTCUA_WEBHOOK_RETRY_BASE_SECONDS small in .chalice/config.json")
    agency, receiver_url = desk
    queues = Queues(local_stack)
    port = free_port()  # nobody listens there: connection refused
    down = ops(local_stack_process, "agency", "webhook", "set-url", "--agency", agency.code,
               f"http://127.0.0.1:{port}/webhooks")
    assert down.returncode == 0 and "is unchanged" in down.stdout, down.stdout + down.stderr

    journey, _ = submit(local_stack, new_citizen(local_stack), PROCEDURE, APPLICANT)

    def task() -> dict[str, Any] | None:
        items = api(local_stack, "GET", "/agency/tasks", agency.api_key).json()["items"]
        return next((t for t in items if t["dossier_code"] == journey.code), None)

    task_id = wait_for(task)["task_id"]

    def dead_letter() -> dict[str, Any] | None:
        return next((body for body in queues.peek(queues.dead_letters) if body.get("task_id") == task_id), None)

    dead = wait_for(dead_letter, window + 30)
    assert (dead["event"], dead["attempts_made"], dead["attempt"]) == ("task.assigned", attempts, 1)
    assert str(dead["last_error"]).startswith("ConnectionError")

    # The endpoint is back on its address; the operator redrives.
    proxy = CountingProxy(port, receiver_url)
    try:
        redriven = ops(local_stack_process, "webhooks", "redrive")
        assert redriven.returncode == 0, redriven.stderr
        assert f"redriven: task.assigned of task {task_id}, {attempts} attempt(s) made" in redriven.stdout
        assert "moved " in redriven.stdout

        def received() -> bool:
            with urllib.request.urlopen(agency.receiver_page, timeout=10) as page:
                return f'data-task-id="{task_id}"' in page.read().decode()

        wait_for(received)
        # Nothing left anywhere that could deliver it again: delivered once, the DLQ empty.
        wait_for(lambda: queues.depth(queues.webhooks) == 0 and queues.depth(queues.dead_letters) == 0)
        assert proxy.requests == [f"msg_{task_id}_assigned"]
        with urllib.request.urlopen(agency.receiver_page, timeout=10) as page:
            assert page.read().decode().count(f'data-task-id="{task_id}"') == 1
        again = ops(local_stack_process, "webhooks", "redrive")
        assert again.returncode == 0 and again.stdout.startswith("no change:"), again.stdout + again.stderr
    finally:
        proxy.close()
