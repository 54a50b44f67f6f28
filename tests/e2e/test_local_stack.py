"""The local stack as a client sees it: stack.json, Cognito, the web front, the API, start and stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt
import pytest
import requests

from tests.e2e.conftest import ROOT, StackProcess

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

REGION = "ap-southeast-1"


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def cognito_client(stack: dict[str, Any]) -> Any:
    return boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_stack_json_has_exactly_the_documented_keys(local_stack: dict[str, Any]) -> None:
    assert set(local_stack) == {"api_url", "web_url", "aws_endpoint", "region", "stripe_api_base", "cognito",
                                "demo_citizen", "agencies"}
    assert set(local_stack["cognito"]) == {"user_pool_id", "client_id"}
    assert set(local_stack["demo_citizen"]) == {"username", "password"}
    assert local_stack["region"] == REGION
    for key in ("api_url", "web_url", "aws_endpoint", "stripe_api_base"):
        assert local_stack[key].startswith("http://127.0.0.1:")
        assert port_of(local_stack[key]) > 0
    assert local_stack["agencies"], "the demo province has agencies"
    for agency in local_stack["agencies"]:
        assert set(agency) == {"code", "name", "api_key", "webhook_url"}
        assert agency["code"] and agency["name"]
        assert isinstance(agency["api_key"], str) and agency["api_key"].startswith("mc_"), agency
        # Each demo agency's webhooks go to its own sample receiver (examples/agency_receiver).
        assert agency["webhook_url"].startswith("http://127.0.0.1:") and agency["webhook_url"].endswith("/webhooks")


def test_agencies_webhook_secrets_are_in_secrets_manager_not_in_the_table(local_stack: dict[str, Any]) -> None:
    """Each demo agency's signing secret is in moto's Secrets Manager, named by the table's endpoint item."""
    options = {"region_name": local_stack["region"], "endpoint_url": local_stack["aws_endpoint"],
               "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    secrets = boto3.client("secretsmanager", **options)
    dynamodb = boto3.client("dynamodb", **options)
    for agency in local_stack["agencies"]:
        item = dynamodb.get_item(TableName="motcua-lamdong",
                                 Key={"PK": {"S": f"AGENCY#{agency['code']}"}, "SK": {"S": "WEBHOOK"}})["Item"]
        assert item["url"]["S"] == agency["webhook_url"] and "secret" not in item
        name = item["secret_name"]["S"]
        assert name == f"motcua/lamdong/webhooks/{agency['code']}"
        (stored,) = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])["secrets"]
        assert stored["secret"].startswith("whsec_") and stored["retire_at"] is None


# Runs the app's own authentication against the stack's moto, as the API process would.
_AUTHENTICATE = """\
import json, sys
from chalicelib.domain.errors import Unauthenticated
from chalicelib.services.agency_auth import authenticate_agency
results = []
for key in json.load(sys.stdin):
    try:
        results.append(authenticate_agency(key).agency_code)
    except Unauthenticated as error:
        results.append(error.code)
print(json.dumps(results))
"""


def test_each_agency_api_key_authenticates_as_its_agency(local_stack: dict[str, Any]) -> None:
    from tools.local_stack import stage_environment

    agencies = local_stack["agencies"]
    keys = [agency["api_key"] for agency in agencies]
    assert len(set(keys)) == len(keys), "one key per agency"
    tampered = keys[0][:-1] + ("A" if keys[0][-1] != "A" else "E")
    env = {**StackProcess.environment(), **stage_environment("local"),
           "AWS_ENDPOINT_URL": local_stack["aws_endpoint"], "AWS_REGION": local_stack["region"],
           "AWS_DEFAULT_REGION": local_stack["region"],
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = subprocess.run([sys.executable, "-c", _AUTHENTICATE], input=json.dumps([*keys, tampered]),
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == [agency["code"] for agency in agencies] + ["invalid_api_key"]


def test_agencies_come_from_the_province_data(local_stack: dict[str, Any]) -> None:
    path = ROOT / "infra" / "provinces" / "lamdong" / "agencies.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = data["agencies"] if isinstance(data, dict) else data
    assert [(a["code"], a["name"]) for a in local_stack["agencies"]] == [(a["code"], a["name"]) for a in raw]


def test_demo_citizen_signs_in_and_gets_a_verifiable_id_token(local_stack: dict[str, Any]) -> None:
    citizen = local_stack["demo_citizen"]
    pool_id = local_stack["cognito"]["user_pool_id"]
    client_id = local_stack["cognito"]["client_id"]

    result = cognito_client(local_stack).initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH", ClientId=client_id,
        AuthParameters={"USERNAME": citizen["username"], "PASSWORD": citizen["password"]},
    )
    id_token = result["AuthenticationResult"]["IdToken"]
    assert id_token

    jwks = jwt.PyJWKClient(f"{local_stack['aws_endpoint']}/{pool_id}/.well-known/jwks.json")
    claims = jwt.decode(id_token, jwks.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                        audience=client_id, issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}")
    assert claims["email"] == citizen["username"] == "demo.citizen@example.vn"
    # moto puts only the client's ReadAttributes in the ID token (AWS: all readable attributes),
    # and the template's client lists none: read the demo citizen's name from the pool instead.
    user = cognito_client(local_stack).admin_get_user(UserPoolId=pool_id, Username=citizen["username"])
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["name"] == "Nguyễn Văn An"
    assert attributes["email_verified"] == "true"


def test_a_second_run_on_the_same_ports_refuses_cleanly(local_stack_process: StackProcess,
                                                          local_stack: dict[str, Any]) -> None:
    command = StackProcess.command(local_stack_process.state_dir,
                                   aws_port=port_of(local_stack["aws_endpoint"]),
                                   api_port=port_of(local_stack["api_url"]),
                                   web_port=port_of(local_stack["web_url"]))
    second = subprocess.run(command, cwd=ROOT, env=StackProcess.environment(), capture_output=True,
                            text=True, timeout=60, check=False)
    output = second.stdout + second.stderr
    assert second.returncode == 1, output
    assert "already running" in output
    assert local_stack["api_url"] in output
    assert "Ctrl-C" in output
    assert "Traceback" not in output
    # The running stack is untouched.
    assert local_stack_process.pid_path.exists()
    assert local_stack_process.stack_path.exists()
    assert requests.get(f"{local_stack['web_url']}/env.js", timeout=5).status_code == 200


def test_a_second_run_with_another_state_dir_refuses_on_the_ports(local_stack_process: StackProcess,
                                                                   local_stack: dict[str, Any],
                                                                   tmp_path: Any) -> None:
    command = StackProcess.command(tmp_path / "other-state",
                                   api_port=port_of(local_stack["api_url"]),
                                   web_port=port_of(local_stack["web_url"]))
    second = subprocess.run(command, cwd=ROOT, env=StackProcess.environment(), capture_output=True,
                            text=True, timeout=60, check=False)
    output = second.stdout + second.stderr
    assert second.returncode == 1, output
    assert "already running" in output
    assert "Traceback" not in output
    assert not (tmp_path / "other-state" / "run.pid").exists()


def test_web_page_is_served_and_env_js_points_at_the_api(local_stack: dict[str, Any]) -> None:
    page = requests.get(f"{local_stack['web_url']}/", timeout=5)
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "/env.js" in page.text

    env_js = requests.get(f"{local_stack['web_url']}/env.js", timeout=5)
    assert env_js.status_code == 200
    assert "javascript" in env_js.headers["Content-Type"]
    assert env_js.text.strip() == f'window.MOTCUA = {{apiUrl: "{local_stack["api_url"]}"}};'

    assert requests.get(f"{local_stack['web_url']}/app.js", timeout=5).status_code == 200


def test_config_answers_with_the_public_contract(local_stack: dict[str, Any]) -> None:
    response = requests.get(f"{local_stack['api_url']}/config", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"province", "cognito", "stripe"} <= set(body)
    assert body["province"]
    assert body["cognito"]["region"] == REGION
    assert body["cognito"]["user_pool_id"] == local_stack["cognito"]["user_pool_id"]
    assert body["cognito"]["client_id"] == local_stack["cognito"]["client_id"]
    assert body["cognito"]["endpoint"] == local_stack["aws_endpoint"]
    assert body["stripe"] == {"publishable_key": "pk_test_motcua", "api_base": local_stack["stripe_api_base"],
                              "js_url": f"{local_stack['web_url']}/_local/stripe.js"}
    # The web front loads the local Stripe.js shim from there: localstripe's script, pointed at
    # localstripe, with a confirmCardPayment that goes through the web server (tools/stripe_shim.py).
    script = requests.get(body["stripe"]["js_url"], timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["Content-Type"]
    assert "Stripe" in script.text and "/_local/stripe/confirm" in script.text
    assert f'"{local_stack["stripe_api_base"]}/js.stripe.com/v3/"' in script.text


def test_the_web_front_may_call_the_api(local_stack: dict[str, Any]) -> None:
    response = requests.get(f"{local_stack['api_url']}/config", headers={"Origin": local_stack["web_url"]},
                            timeout=10)
    assert response.headers.get("Access-Control-Allow-Origin") in ("*", local_stack["web_url"])


def test_demo_province_procedures_are_loaded(local_stack: dict[str, Any]) -> None:
    response = requests.get(f"{local_stack['api_url']}/procedures", timeout=10)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert items, "load_province stored the demo catalogue"
    assert all(item["name"] and item["code"] for item in items)


def test_sigterm_stops_everything_and_cleans_up(start_stack: Callable[[], StackProcess]) -> None:
    stack = start_stack()
    info = json.loads(stack.stack_path.read_text(encoding="utf-8"))
    assert stack.process is not None
    assert stack.pid_path.read_text(encoding="utf-8").strip() == str(stack.process.pid)

    assert stack.stop(signal.SIGTERM) == 0, stack.output()
    assert "Traceback" not in stack.output()
    assert not stack.stack_path.exists()
    assert not stack.pid_path.exists()
    for key in ("api_url", "web_url", "aws_endpoint"):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port_of(info[key]))) != 0, f"{key} still answers"
