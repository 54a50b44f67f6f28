"""Where ops commands run: the environment as it is, or the local stack (``--local``)."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = PROJECT_ROOT / ".local"
CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"
PROVINCES_DIR = PROJECT_ROOT / "infra" / "provinces"
STACK_FILE = "stack.json"
LOCAL_STAGE = "local"


class UsageError(Exception):
    """Bad input: the command refuses with this message and exit status 2."""


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path} not found: {what}") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def local_environment(state_dir: Path = DEFAULT_STATE_DIR, config_path: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The variables the local stack gives the app (``tools/local_stack.py``), from its
    ``stack.json`` and the stage's ``.chalice/config.json`` settings."""
    stack = _read_json(state_dir / STACK_FILE, "is the local stack running? Start it with `make run`")
    endpoint = stack.get("aws_endpoint")
    region = stack.get("region")
    if not isinstance(endpoint, str) or not endpoint or not isinstance(region, str) or not region:
        raise UsageError(f"{state_dir / STACK_FILE} names no aws_endpoint and region")
    config = _read_json(config_path, "the Chalice stages")
    stage = str(stack.get("stage") or LOCAL_STAGE)
    stages = config.get("stages") or {}
    if stage not in stages:
        raise UsageError(f"stage {stage!r} is not in {config_path}")
    env: dict[str, str] = {str(k): str(v) for k, v in (config.get("environment_variables") or {}).items()}
    env.update({str(k): str(v) for k, v in (stages[stage].get("environment_variables") or {}).items()})
    env.update({
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "MOTCUA_COGNITO_ENDPOINT": endpoint,
    })
    cognito = stack.get("cognito") or {}
    if isinstance(cognito, dict):
        for key, variable in (("user_pool_id", "MOTCUA_COGNITO_USER_POOL_ID"),
                              ("client_id", "MOTCUA_COGNITO_CLIENT_ID")):
            if cognito.get(key):
                env[variable] = str(cognito[key])
    return env


def use_local_stack(state_dir: Path = DEFAULT_STATE_DIR, environ: MutableMapping[str, str] | None = None) -> None:
    """Points this process at the local stack, as ``tools/local_stack.py`` points the app."""
    target = os.environ if environ is None else environ
    target.update(local_environment(state_dir))
    for variable in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        target.pop(variable, None)


def province_dir(explicit: Path | None, province: str) -> Path:
    directory = explicit or PROVINCES_DIR / province
    if not directory.is_dir():
        raise UsageError(f"no province folder {directory} (pass --province-dir)")
    return directory
