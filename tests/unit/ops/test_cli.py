"""The ops command line without AWS: its options, the local stack's environment, usage errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chalicelib.ops.cli import build_parser, main
from chalicelib.ops.environment import UsageError, local_environment, use_local_stack

ROOT = Path(__file__).resolve().parents[3]


def write_stack(directory: Path) -> Path:
    (directory / "stack.json").write_text(json.dumps({
        "api_url": "http://127.0.0.1:8000", "aws_endpoint": "http://127.0.0.1:5100", "region": "ap-southeast-1",
        "cognito": {"user_pool_id": "pool", "client_id": "client"}, "agencies": []}), encoding="utf-8")
    return directory


def test_local_stack_environment_is_the_one_the_app_gets(tmp_path: Path) -> None:
    env = local_environment(write_stack(tmp_path))
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5100" and env["AWS_REGION"] == "ap-southeast-1"
    assert env["MOTCUA_TABLE_NAME"] == "motcua-lamdong" and env["MOTCUA_PROVINCE"] == "lamdong"
    assert env["MOTCUA_COGNITO_USER_POOL_ID"] == "pool"
    target = {"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "x"}
    use_local_stack(tmp_path, target)
    assert "AWS_PROFILE" not in target and "AWS_SESSION_TOKEN" not in target
    assert target["AWS_ACCESS_KEY_ID"] == "testing"


def test_no_local_stack_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="make run"):
        local_environment(tmp_path)
    err = io.StringIO()
    assert main(["--local", "--state-dir", str(tmp_path), "stats", "export"], err=err) == 2
    assert "is the local stack running?" in err.getvalue()


def test_options_are_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--local", "agency", "webhook", "set-url", "--agency", "X", "http://127.0.0.1/"])
    after = parser.parse_args(["agency", "webhook", "set-url", "--agency", "X", "http://127.0.0.1/", "--local"])
    assert before.local is True and after.local is True and after.url == "http://127.0.0.1/"
    redrive = parser.parse_args(["webhooks", "redrive", "--local"])
    assert (redrive.group, redrive.command, redrive.local) == ("webhooks", "redrive", True)


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    assert "catalogue" in shown and "webhooks" in shown
    assert main(["webhooks"]) == 2
    assert main(["agency"]) == 2
    assert main(["agency", "key", "revoke", "--agency", "X", "--key-id", "1", "--all"]) == 2


def test_an_environment_without_a_stage_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("MOTCUA_TABLE_NAME", "MOTCUA_PROVINCE", "MOTCUA_UPLOADS_BUCKET", "MOTCUA_DOCUMENTS_BUCKET"):
        monkeypatch.delenv(key, raising=False)
    err = io.StringIO()
    assert main(["stats", "export"], err=err) == 2
    assert "the environment is not a stage's" in err.getvalue() and "Traceback" not in err.getvalue()
