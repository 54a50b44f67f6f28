"""Each function's IAM policy file (``.chalice/policy-*.json``) lists exactly the actions its code
paths call, and every AWS call in ``chalicelib`` is granted to some function (or is ops-only).

``REQUIRED`` was derived by reading the code: the API handler serves every route; the task
worker runs ``routing.handle_task_message`` (route callbacks, status changes and refunds,
webhook events); the webhook worker runs ``webhooks.handle_webhook_message`` (reads the task,
dossier and endpoint, disables a gone endpoint, re-queues retries, dead-letters); the table-events
worker runs ``table_events.handle_stream_batch`` (the citizens' e-mail and SMS, attached uploads'
tags); the upload-events worker runs ``uploads.handle_storage_event`` (an upload's stored size).
The first three workers keep Powertools idempotency records in the table
(``store/idempotency.py``: GetItem, conditional PutItem, UpdateItem, DeleteItem).
Beside this reading, every integration test checks at run time that the calls each function's
code path made are granted by its policy file (``tests/integration/conftest.py``
``aws_calls_are_granted``): moto does not enforce IAM.
A new AWS call found by the scan below and granted to no function fails
``test_every_aws_call_in_the_code_is_granted``: add the action to the policy file of each function
that reaches it, and here.
"""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICE = ROOT / ".chalice"

# Function (chalice's name) -> policy file, as every province stage must declare it.
POLICY_FILES = {
    "api_handler": "policy-api.json",
    "on_task_message": "policy-task-worker.json",
    "on_webhook_message": "policy-webhook-worker.json",
    "on_table_record": "policy-table-events.json",
    "on_upload_event": "policy-upload-events.json",
}

_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}  # its own log group (created by the template)
_CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}  # SQS event source
_ITEMS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
_NOTIFY = {"ses:SendEmail", "sns:Publish"}

REQUIRED: dict[str, set[str]] = {
    # Citizens are told from the table's stream (on_table_record), not by the API or the task worker.
    "api_handler": _LOGS | _ITEMS | {
        "dynamodb:BatchGetItem",  # an agency's key and the task it decides, in one read (store/agency_keys.py)
        # a decision made on a remembered key checks in its transaction that the key is still good
        # (services/seen_tasks.py, store/agency_keys.py)
        "dynamodb:ConditionCheckItem",
        "s3:PutObject",  # presigned POSTs (uploads/, results/), slip PDFs (slips/)
        # the POST's motcua-attached=false tag (S3 checks the signer may tag)
        "s3:PutObjectTagging",
        "s3:GetObject",  # HeadObject of uploads, presigned GETs of templates, results and slips
        "s3:ListBucket",  # so that HeadObject of a missing key is a 404, not a 403
        "states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
        # task.assigned / task.cancelled webhook events; a route answer or start Step Functions did
        # not take, left to the task worker (task queue)
        "sqs:SendMessage",
        "cognito-idp:DescribeUserPool",  # GET /config: the password policy
        "secretsmanager:GetSecretValue",  # Stripe keys: payments, the Stripe webhook, refunds
    },
    "on_task_message": _LOGS | _CONSUME | _ITEMS | {
        "states:SendTaskSuccess", "states:SendTaskFailure",
        "states:StartExecution",  # a route the API could not start (route.start, routing.start_route)
        "sqs:SendMessage",  # webhook events, escalations; route answers deferred to its own queue
        "secretsmanager:GetSecretValue",  # refunds when a wait expires after payment
    },
    "on_webhook_message": _LOGS | _CONSUME | {
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem",  # task, dossier, endpoint (disable on 410)
        # its idempotency records (and GetItem, UpdateItem); PutItem also records the staff read
        # of a delivery that carries personal data
        "dynamodb:PutItem", "dynamodb:DeleteItem",
        "sqs:SendMessage",  # retries (webhook queue) and dead letters (its DLQ)
        "secretsmanager:GetSecretValue",  # the agency's signing secrets, motcua/<province>/webhooks/<code>
    },
    # services/table_events.py: reads the dossier (Query) and keeps idempotency records for the
    # notifications, e-mails and texts the citizen, tags attached uploads, puts staff reads on the
    # dossiers' audit trails (Query of the last line, conditional PutItem); its event source reads
    # the table's stream and sends the batches it gives up on to its dead-letter queue.
    "on_table_record": _LOGS | _ITEMS | _NOTIFY | {
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
        "sqs:SendMessage",
        "s3:PutObjectTagging",
    },
    # services/uploads.handle_storage_event: S3's ObjectCreated events, each a conditional
    # UpdateItem of the upload's record (its stored size); for an upload already attached, its
    # record read (GetItem) and its object tagged attached again (PutObjectTagging).
    "on_upload_event": _LOGS | _CONSUME | {"dynamodb:UpdateItem", "dynamodb:GetItem", "s3:PutObjectTagging"},
}

# Calls that exist in chalicelib but run with ops' credentials (catalogue loading, tools), never
# in a Lambda function: creating and rotating agencies' webhook secrets is one (no function
# creates webhook endpoints; ``agency webhook set-url`` / ``rotate-secret`` and the local stack do).
# ``webhooks redrive`` finds the stage's queues by name (GetQueueUrl), then receives, sends and deletes.
OPS_ONLY = {"dynamodb:BatchWriteItem", "dynamodb:Scan", "dynamodb:DescribeTable",
            "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "sqs:GetQueueUrl"}

# Resource "*" is allowed only for these: IAM cannot scope task tokens of service-integration
# callbacks, nor SMS sent to phone numbers.
STAR_RESOURCE_ACTIONS = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
                         "sns:Publish"}

_IAM_PREFIX = {"stepfunctions": "states"}
_PRESIGNED = {"generate_presigned_post": "s3:PutObject"}
S3_ALIASES = {"s3:HeadObject": "s3:GetObject"}  # HeadObject is authorised as GetObject
_POWERTOOLS = {"get_secret": "secretsmanager:GetSecretValue", "get_parameter": "ssm:GetParameter",
               "get_parameters": "ssm:GetParameters"}
# Powertools Idempotency's DynamoDB persistence layer: what it calls on the table.
_IDEMPOTENCY = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
_PYNAMODB = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem", "query": "Query", "scan": "Scan",
             "batch_write": "BatchWriteItem", "batch_get": "BatchGetItem", "count": "Query",
             "describe_table": "DescribeTable",  # not "exists": attribute conditions share the name
             "condition_check": "ConditionCheckItem"}  # a transaction's condition-only item


def policy(function: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CHALICE / POLICY_FILES[function]).read_text(encoding="utf-8"))
    return document


def actions_of(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


@cache
def _operations(service: str) -> dict[str, str]:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _method(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def discovered_actions() -> dict[str, set[str]]:
    """IAM actions the code calls, by file (a static scan of chalicelib)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = _calls(tree)
        actions: set[str] = set()
        services = {call.args[0].value for call in calls
                    if isinstance(call.func, ast.Name) and call.func.id == "client" and call.args
                    and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)}
        for service in services:
            prefix = _IAM_PREFIX.get(service, service)
            operations = _operations(service)
            for call in calls:
                method = _method(call)
                if method in operations:
                    action = f"{prefix}:{operations[method]}"
                    actions.add(S3_ALIASES.get(action, action))
                elif method in _PRESIGNED and service == "s3":
                    actions.add(_PRESIGNED[method])
                elif method == "generate_presigned_url" and call.args and isinstance(call.args[0], ast.Constant):
                    # the URL carries the named operation, authorised as the caller's own call
                    action = f"{prefix}:{operations.get(str(call.args[0].value), str(call.args[0].value))}"
                    actions.add(S3_ALIASES.get(action, action))
        source = path.read_text(encoding="utf-8")
        if "aws_lambda_powertools.utilities import parameters" in source:
            actions.update(_POWERTOOLS[m] for call in calls if (m := _method(call)) in _POWERTOOLS)
        if "aws_lambda_powertools.utilities.idempotency import" in source:
            actions.update(_IDEMPOTENCY)
        if path.parent.name == "store" or "pynamodb" in source:
            for call in calls:
                method = _method(call)
                if method in _PYNAMODB:
                    actions.add(f"dynamodb:{_PYNAMODB[method]}")
                elif method == "get" and isinstance(call.func, ast.Attribute) and _model_receiver(call.func.value):
                    actions.add("dynamodb:GetItem")
            if "TransactGet" in source:
                actions.add("dynamodb:GetItem")
        if actions:
            found[str(path.relative_to(ROOT))] = actions
    return found


def _model_receiver(node: ast.expr) -> bool:
    """``SomethingItem.get(...)``: a PynamoDB model's GetItem (not ``dict.get``)."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name.endswith("Item")


def test_every_province_stage_uses_the_policy_files() -> None:
    config = json.loads((CHALICE / "config.json").read_text(encoding="utf-8"))
    assert config.get("autogen_policy") is False
    stages = {name: stage for name, stage in config["stages"].items() if name != "local"}
    assert {"lamdong", "hanoi"} <= set(stages)
    for name, stage in stages.items():
        assert stage.get("autogen_policy", config.get("autogen_policy")) is False, name
        functions = stage["lambda_functions"]
        assert {function: functions[function]["iam_policy_file"] for function in functions} == POLICY_FILES, name


@pytest.mark.parametrize("function", sorted(POLICY_FILES))
def test_policy_file_grants_exactly_what_the_function_calls(function: str) -> None:
    granted = actions_of(policy(function))
    assert granted - REQUIRED[function] == set(), f"{POLICY_FILES[function]} grants more than {function} calls"
    assert REQUIRED[function] - granted == set(), f"{POLICY_FILES[function]} misses actions {function} calls"


@pytest.mark.parametrize("function", sorted(POLICY_FILES))
def test_policy_file_has_no_wildcard_action_and_star_resources_only_where_unavoidable(function: str) -> None:
    for statement in policy(function)["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in actions), statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in resources:
            assert set(actions) <= STAR_RESOURCE_ACTIONS, f"Resource '*' for {actions} in {POLICY_FILES[function]}"
        for resource in resources:
            # Everything else is an ARN the template resolves: a resource's attribute or a
            # pattern under the province's own names.
            assert resource == "*" or isinstance(resource, dict), resource


def test_every_aws_call_in_the_code_is_granted() -> None:
    granted = set().union(*REQUIRED.values()) | OPS_ONLY
    discovered = discovered_actions()
    assert discovered, "the scan found no AWS call at all: it is broken"
    missing = {path: sorted(actions - granted) for path, actions in discovered.items() if actions - granted}
    assert missing == {}, ("AWS calls no function's policy grants: add them to the .chalice/policy-*.json of each "
                           "function that reaches them, and to REQUIRED in tests/infra/test_policies.py")


def test_the_scan_sees_the_known_calls() -> None:
    everything = set().union(*discovered_actions().values())
    assert {"states:StartExecution", "states:SendTaskHeartbeat", "sqs:SendMessage", "ses:SendEmail", "sns:Publish",
            "cognito-idp:DescribeUserPool", "s3:PutObject", "s3:GetObject", "dynamodb:PutItem", "dynamodb:Query",
            "dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue",
            "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "sqs:GetQueueUrl"} <= everything
    assert discovered_actions()["chalicelib/store/idempotency.py"] >= _IDEMPOTENCY
