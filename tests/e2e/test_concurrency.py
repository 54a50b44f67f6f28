"""Concurrency against the local stack over HTTP (issue 7, hardening).

- 1,000 dossiers submitted at once by 50 citizens (within the per-citizen hourly limit), most of
  them to one agency: every one stored once, with a code whose daily sequence per agency runs
  1..N without a gap or a duplicate (Circular 01/2018/TT-VPCP art. 19).
- Two decisions on the same reception task at the same instant: one wins, the other is a 409.

The 1,000 submissions leave as many Step Functions executions waiting in moto, so they run on a
stack of their own, started and stopped by this module.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.e2e.conftest import StackProcess
from tests.stack_support import cognito_client, signed_in_citizen, wait_for

pytestmark = [pytest.mark.e2e]

TIMEOUT = 60
CITIZENS = 50
DOSSIERS_PER_CITIZEN = 20  # under the local stage's 30 submissions per citizen and hour
THREADS = 48
PASSWORD = "Concurrent-Citizen-2026"
CODE = re.compile(r"(?P<agency>[0-9A-Z.]+)-(?P<day>[0-9]{6})-(?P<sequence>[0-9]{4,7})")

# Two procedures with one required document and a reception desk: most dossiers go to the
# first one's desk (the hot counter), the rest to another agency's.
CONFIRMATION = "1.004873"  # Xác nhận tình trạng hôn nhân, desk 000.01.40.H38
MARRIAGE = "1.000894"  # Đăng ký kết hôn, desk 000.02.40.H38
FORMS: dict[str, dict[str, Any]] = {
    CONFIRMATION: {"marital_status": "Chưa đăng ký kết hôn với ai", "purpose": "Bổ sung hồ sơ xin việc"},
    MARRIAGE: {"female_full_name": "Trần Thị Cúc", "female_date_of_birth": "1998-02-03",
               "female_id_number": "068198001234", "female_residence": "Phường 2, Đà Lạt",
               "male_full_name": "Nguyễn Văn Bình", "male_date_of_birth": "1996-05-06",
               "male_id_number": "068096001234", "male_residence": "Phường 2, Đà Lạt"},
}


@dataclass(frozen=True)
class Citizen:
    username: str
    token: str


@dataclass
class Outcome:
    citizen: Citizen
    procedure_code: str
    code: str | None
    statuses: list[int]
    last_error: str = ""


class Client:
    """HTTP to one stack over a pool of kept-alive connections, one per thread of the test.

    A listen backlog is finite (the local stack raises ``chalice local``'s from 5 to 128): a burst
    of new connections while the server is busy may get some reset before it accepts them. The
    pool is therefore opened first (``warm_up``, idempotent GETs, retried), and every request then
    reuses a connection the server already accepted, so a POST is never sent on one it drops.
    """

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack
        self.session = requests.Session()
        retry = Retry(total=5, connect=5, read=5, status=0, backoff_factor=0.1, allowed_methods={"GET"})
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=THREADS * 2, max_retries=retry))

    def warm_up(self) -> None:
        """Opens THREADS connections to the API at once, held together so that none is reused."""
        together = threading.Barrier(THREADS)

        def hold() -> None:
            response = self.session.get(f"{self.stack['api_url']}/config", timeout=TIMEOUT, stream=True)
            together.wait(timeout=TIMEOUT)
            body = response.content  # read: the connection goes back to the pool, open
            assert response.status_code == 200, body

        run_all([hold] * THREADS)

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(method, f"{self.stack['api_url']}{path}", headers=headers, timeout=TIMEOUT,
                                    **kwargs)

    def upload(self, token: str, name: str) -> str:
        content = b"%PDF-1.4 concurrency"
        ticket = self.api("POST", "/uploads", token,
                          json={"filename": f"{name}.pdf", "content_type": "application/pdf", "size": len(content)})
        assert ticket.status_code == 201, ticket.text
        data = ticket.json()
        posted = self.session.post(data["url"], data=data["fields"], files={"file": (f"{name}.pdf", content)},
                                   timeout=TIMEOUT)
        assert posted.status_code in (200, 201, 204), posted.text
        return str(data["upload_id"])


def create_citizen(stack: dict[str, Any], client: Any) -> Citizen:
    return Citizen(*signed_in_citizen(stack, client, PASSWORD))


FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
GIVEN_NAMES = ("An", "Bình", "Cúc", "Dũng", "Hà", "Hùng", "Lan", "Minh", "Nga", "Phúc")


def submission(procedure_code: str, upload_id: str, n: int) -> dict[str, Any]:
    name = f"{FAMILY_NAMES[n % 10]} Văn {GIVEN_NAMES[n // 10 % 10]}"
    return {
        "procedure_code": procedure_code,
        "applicant": {"full_name": name, "id_number": f"068090{n:06d}", "phone": "0912345678",
                      "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
        "form": FORMS[procedure_code],
        "documents": [{"document_id": "to_khai", "upload_id": upload_id}],
    }


def run_all(jobs: Sequence[Callable[[], Any]], threads: int = THREADS) -> list[Any]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]


@pytest.fixture(scope="module")
def concurrency_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    stack = StackProcess(tmp_path_factory.mktemp("concurrency-stack") / "state")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def stack(concurrency_process: StackProcess) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(concurrency_process.stack_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def citizens(stack: dict[str, Any]) -> list[Citizen]:
    client = cognito_client(stack)
    return run_all([lambda: create_citizen(stack, client) for _ in range(CITIZENS)], threads=8)


def agency_key(stack: dict[str, Any], code: str) -> str:
    return str(next(agency["api_key"] for agency in stack["agencies"] if agency["code"] == code))


@pytest.mark.xdist_group("concurrency_stack")
def test_a_thousand_concurrent_submissions_are_all_stored_with_gap_free_codes(
        stack: dict[str, Any], citizens: list[Citizen]) -> None:
    client = Client(stack)
    client.warm_up()
    plan = [(citizen, MARRIAGE if n % 5 == 4 else CONFIRMATION, index * DOSSIERS_PER_CITIZEN + n)
            for index, citizen in enumerate(citizens) for n in range(DOSSIERS_PER_CITIZEN)]
    started = time.monotonic()
    upload_ids = run_all([partial(client.upload, citizen.token, f"to-khai-{number}") for citizen, _, number in plan])
    uploaded = time.monotonic()

    gate = threading.Barrier(THREADS)

    def submit(citizen: Citizen, procedure_code: str, upload_id: str, number: int) -> Outcome:
        if number < THREADS:
            gate.wait(timeout=TIMEOUT)  # the first wave leaves together
        outcome = Outcome(citizen, procedure_code, None, [])
        for _ in range(3):  # a refusal the API marks as transient is retried, as a client would
            answer = client.api("POST", "/dossiers", citizen.token,
                                json=submission(procedure_code, upload_id, number))
            outcome.statuses.append(answer.status_code)
            if answer.status_code == 201:
                outcome.code = str(answer.json()["code"])
                break
            outcome.last_error = answer.text
            if answer.status_code not in (409, 503) or answer.json()["error"]["code"] != "busy":
                break
        return outcome

    jobs = [partial(submit, citizen, procedure, upload_id, number)
            for (citizen, procedure, number), upload_id in zip(plan, upload_ids, strict=True)]
    outcomes: list[Outcome] = run_all(jobs)
    submitted = time.monotonic()
    print(f"\n1,000 uploads in {uploaded - started:.1f} s, 1,000 concurrent submissions in "
          f"{submitted - uploaded:.1f} s")

    refused = [o for o in outcomes if o.code is None]
    assert not refused, (f"{len(refused)} submissions lost: {Counter(s for o in refused for s in o.statuses)}, "
                         f"e.g. {refused[0].last_error}")
    retried = [o.statuses for o in outcomes if len(o.statuses) > 1]
    codes = [str(o.code) for o in outcomes]
    assert len(set(codes)) == len(codes) == CITIZENS * DOSSIERS_PER_CITIZEN

    # Per agency and day, the sequence numbers are exactly 1..N.
    sequences: dict[tuple[str, str], list[int]] = defaultdict(list)
    for code in codes:
        match = CODE.fullmatch(code)
        assert match, code
        sequences[(match["agency"], match["day"])].append(int(match["sequence"]))
    for (agency, day), numbers in sequences.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (agency, day, len(numbers))
    agencies = {agency for agency, _ in sequences}
    assert agencies == {"000.01.40.H38", "000.02.40.H38"}

    # What the API stored, read back by each owner: each citizen's list holds exactly their 20
    # dossiers, and each dossier reads back with its own procedure and one submission entry.
    by_owner: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        by_owner[outcome.citizen.token].add(str(outcome.code))

    def listed(citizen: Citizen) -> set[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = client.api("GET", "/dossiers", citizen.token, params={"cursor": cursor} if cursor else {})
            assert page.status_code == 200, page.text
            seen += [item["code"] for item in page.json()["items"]]
            cursor = page.json().get("next_cursor")
            if not cursor:
                break
        assert len(seen) == len(set(seen)), "a dossier listed twice"
        return set(seen)

    lists = run_all([partial(listed, citizen) for citizen in citizens])
    for citizen, own in zip(citizens, lists, strict=True):
        assert own == by_owner[citizen.token], citizen.username
    stored = set().union(*lists)
    assert len(stored) == CITIZENS * DOSSIERS_PER_CITIZEN

    # Each owner reads one of their dossiers back in full (the lists above already account for
    # every one of them; reading all 1,000 would only time moto).
    sample = list({outcome.citizen.username: outcome for outcome in outcomes}.values())

    def read(outcome: Outcome) -> dict[str, Any]:
        answer = client.api("GET", f"/dossiers/{outcome.code}", outcome.citizen.token)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    bodies = run_all([partial(read, outcome) for outcome in sample])
    for outcome, body in zip(sample, bodies, strict=True):
        assert body["code"] == outcome.code and body["procedure_code"] == outcome.procedure_code
        assert [entry["status_code"] for entry in body["history"]][:1] == [1]
    print(f"read back in {time.monotonic() - submitted:.1f} s; {len(retried)} submissions retried; "
          f"total {time.monotonic() - started:.1f} s")


def open_reception_task(client: Client, key: str, code: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        cursor: str | None = None
        while True:
            params = {"status": "open", **({"cursor": cursor} if cursor else {})}
            answer = client.api("GET", "/agency/tasks", key, params=params)
            assert answer.status_code == 200, answer.text
            found = next((t for t in answer.json()["items"] if t["dossier_code"] == code), None)
            cursor = answer.json().get("next_cursor")
            if found or not cursor:
                return found

    task: dict[str, Any] = wait_for(find, seconds=60)
    return task


@pytest.mark.xdist_group("local_stack")
def test_two_staff_deciding_the_same_task_at_once_one_wins_the_other_gets_409(local_stack: dict[str, Any]) -> None:
    """On the shared stack (the 1,000 dossiers' routes would keep this module's stack busy)."""
    stack = local_stack
    client = Client(stack)
    client.warm_up()
    desk = "000.02.40.H38"
    key = agency_key(stack, desk)
    citizen = create_citizen(stack, cognito_client(stack))
    for attempt in range(10):
        upload_id = client.upload(citizen.token, f"race-{attempt}")
        answer = client.api("POST", "/dossiers", citizen.token, json=submission(MARRIAGE, upload_id, 90_000 + attempt))
        assert answer.status_code == 201, answer.text
        code = answer.json()["code"]
        task = open_reception_task(client, key, code)
        gate = threading.Barrier(2)

        def decide(task_id: str = task["task_id"], gate: threading.Barrier = gate) -> requests.Response:
            gate.wait(timeout=TIMEOUT)
            return client.api("POST", f"/agency/tasks/{task_id}/decision", key,
                              json={"decision": "receive", "note": "Tiếp nhận / Received"})

        answers = run_all([decide, decide], threads=2)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409).json()
        assert set(loser) == {"error"} and loser["error"]["code"] in ("task_closed", "concurrent_update"), loser
        assert loser["error"]["message"]
        history = client.api("GET", f"/dossiers/{code}", citizen.token).json()["history"]
        received = [entry for entry in history if entry["status_code"] == 2]
        assert len(received) == 1, history
