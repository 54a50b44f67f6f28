"""The local stack (``python -m tools.local_stack run``) in a subprocess, on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


class StackProcess:
    """One ``tools.local_stack run`` with all ports 0 and its own state directory."""

    def __init__(self, state_dir: Path, *, stage: str | None = None, province: str | None = None) -> None:
        self.state_dir = state_dir
        self.stage = stage  # None: the stack's defaults (the local stage, Lâm Đồng)
        self.province = province
        self.stack_path = state_dir / "stack.json"
        self.pid_path = state_dir / "run.pid"
        self.log_path = state_dir.parent / f"{state_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def command(state_dir: Path, *, aws_port: int = 0, api_port: int = 0, web_port: int = 0,
                stripe_port: int = 0, stage: str | None = None, province: str | None = None) -> list[str]:
        command = [sys.executable, "-m", "tools.local_stack", "run", "--state-dir", str(state_dir),
                   "--aws-port", str(aws_port), "--api-port", str(api_port), "--web-port", str(web_port),
                   "--stripe-port", str(stripe_port)]
        if stage is not None:
            command += ["--stage", stage]
        if province is not None:
            command += ["--province", province]
        return command

    @staticmethod
    def environment() -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("AWS_", "MOTCUA_", "MOTO_"))}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> dict[str, Any]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(self.state_dir, stage=self.stage, province=self.province),
                                            cwd=ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the local stack exited with status {self.process.returncode} before it was "
                            f"ready:\n{self.output()}", pytrace=False)
            if self.stack_path.exists():
                data: dict[str, Any] = json.loads(self.stack_path.read_text(encoding="utf-8"))
                return data
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the local stack did not write {self.stack_path} within {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{self.output()}", pytrace=False)

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Signal the stack, wait for it to clean up, kill it if it does not; its exit status."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    def output(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def mark_xdist_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Puts ``@<group>`` at the end of the node id of items marked ``xdist_group``, on an xdist worker
    running ``--dist loadgroup``: what pytest-xdist 3.8 itself does by assigning ``item._nodeid``,
    which pytest 9.2 no longer reads (a node keeps its id in ``item._id``, a ``NodeId``), so without
    this every group is ignored and each worker starts its own local stack. Idempotent; does nothing
    once xdist's own suffix works again, or if pytest's internals change shape."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                         for mark in item.iter_markers("xdist_group")})
        if not groups:
            continue
        nodeid = item.nodeid
        if nodeid.rfind("@") > nodeid.rfind("]"):
            continue  # already grouped
        current = getattr(item, "_id", None)
        parse = getattr(type(current), "parse", None)
        if parse is None:
            return
        setattr(item, "_id", parse(f"{nodeid}@{'_'.join(groups)}"))  # noqa: B010 (a private attribute)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_xdist_groups(config, items)


class _SharedStack:
    """The one stack of this pytest process (xdist worker), whichever directory asks first.

    tests/e2e and tests/browser each have ``local_stack_process`` fixtures (a conftest's fixtures
    are only visible below it); both take the stack from here, so a worker running tests of both
    (all are in the xdist group "local_stack") starts one stack, stopped when pytest ends.
    """

    stack: StackProcess | None = None
    failure: str | None = None

    @classmethod
    def get(cls, tmp_path_factory: pytest.TempPathFactory, config: pytest.Config) -> StackProcess:
        if cls.failure is not None:
            pytest.fail(cls.failure, pytrace=False)
        if cls.stack is None:
            stack = StackProcess(tmp_path_factory.mktemp("local-stack") / "state")

            def stop() -> None:
                stack.stop()

            config.add_cleanup(stop)
            try:
                stack.start()
            except BaseException as error:
                cls.failure = f"the shared local stack did not start: {error}"
                raise
            cls.stack = stack
        return cls.stack


def shared_stack_process(tmp_path_factory: pytest.TempPathFactory, config: pytest.Config) -> StackProcess:
    """The running local stack shared by every test of this pytest process; starts it on first use."""
    return _SharedStack.get(tmp_path_factory, config)


@pytest.fixture(scope="session")
def local_stack_process(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> StackProcess:
    return shared_stack_process(tmp_path_factory, pytestconfig)


@pytest.fixture(scope="session")
def local_stack(local_stack_process: StackProcess) -> dict[str, Any]:
    """The parsed ``stack.json`` of a running local stack (shared by the session's e2e tests)."""
    data: dict[str, Any] = json.loads(local_stack_process.stack_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., StackProcess]]:
    """Starts a private stack for tests that stop it themselves; stopped at the end in any case.
    ``start(stage=..., province=...)`` runs another stage or province than the default one."""
    started: list[StackProcess] = []

    def start(*, stage: str | None = None, province: str | None = None) -> StackProcess:
        stack = StackProcess(tmp_path / f"state-{len(started)}", stage=stage, province=province)
        started.append(stack)
        stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()
