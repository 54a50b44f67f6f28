"""``make package`` for every province stage: a clean cfn-lint, and the hardening the issue asks for,
checked on the packaged template itself (``out/<stage>/sam.json``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.test_policies import STAR_RESOURCE_ACTIONS
from tools.package import cfn_lint, province_stages, stage_province

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "infra" / "statemachine" / "dossier_route.asl.json"

# Both stages share chalice's cache of the app-only deployment.zip: package them on one worker.
pytestmark = pytest.mark.xdist_group("package")

# Stage settings the app reads that must come from the stack (Ref / Fn::GetAtt), by target.
STACK_SETTINGS = {
    "MOTCUA_TABLE_NAME": "MotcuaTable",
    "MOTCUA_UPLOADS_BUCKET": "UploadsBucket",
    "MOTCUA_DOCUMENTS_BUCKET": "DocumentsBucket",
    "MOTCUA_COGNITO_USER_POOL_ID": "CitizenUserPool",
    "MOTCUA_COGNITO_CLIENT_ID": "CitizenUserPoolClient",
    "MOTCUA_ROUTE_STATE_MACHINE_ARN": "RouteStateMachine",
    "MOTCUA_TASK_QUEUE_URL": "TaskQueue",
    "MOTCUA_WEBHOOK_QUEUE_URL": "WebhookQueue",
    "MOTCUA_WEBHOOK_DLQ_URL": "WebhookDeadLetterQueue",
    "MOTCUA_NOTIFY_FROM_EMAIL": "NotifySenderIdentity",
    "MOTCUA_STRIPE_SECRET_NAME": "StripeSecret",
}
FUNCTIONS = {"APIHandler": None, "OnTaskMessage": "TaskQueue", "OnWebhookMessage": "WebhookQueue",
             "OnTableRecord": None, "OnUploadEvent": "UploadEventsQueue"}
_SUB_NAME = re.compile(r"\$\{([^}!]+)\}")


@pytest.fixture(scope="module", params=province_stages())
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    stage: str = request.param
    out = tmp_path_factory.mktemp(f"package-{stage}")
    result = subprocess.run([sys.executable, "-m", "tools.package", stage, "--out", str(out), "--skip-dependencies",
                             "--no-lint"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return stage, out / "sam.json"


@pytest.fixture(scope="module")
def template(packaged: tuple[str, Path]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(packaged[1].read_text(encoding="utf-8"))
    return loaded


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def referenced(value: Any) -> set[str]:
    """Names an intrinsic function refers to (Ref, Fn::GetAtt, ${…} of Fn::Sub)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return {argument}
        if key == "Fn::GetAtt":
            return {argument[0] if isinstance(argument, list) else argument.split(".")[0]}
        if key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            return {name.split(".")[0] for name in _SUB_NAME.findall(text)}
    return set()


def test_cfn_lint_is_clean(packaged: tuple[str, Path]) -> None:
    assert cfn_lint(packaged[1], "ap-southeast-1") == ""


def test_province_stage_and_tags(packaged: tuple[str, Path], template: dict[str, Any]) -> None:
    stage = packaged[0]
    assert template["Parameters"]["Province"]["Default"] == stage_province(stage)
    for name in FUNCTIONS:
        tags = template["Resources"][name]["Properties"]["Tags"]
        assert (tags.get("Project"), tags.get("Province"), tags.get("Stage")) == (
            "motcua", stage_province(stage), stage)


def test_functions_get_the_stack_settings_sizes_and_own_roles(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    roles = set()
    for name, queue in FUNCTIONS.items():
        props = resources[name]["Properties"]
        variables = props["Environment"]["Variables"]
        for variable, target in STACK_SETTINGS.items():
            assert referenced(variables.get(variable)) == {target}, (name, variable)
        assert variables["MOTCUA_PROVINCE"] == template["Parameters"]["Province"]["Default"]
        assert props["MemorySize"] >= 256 and props["Timeout"] <= (29 if name == "APIHandler" else 900)
        role = props["Role"]["Fn::GetAtt"][0]
        assert resources[role]["Type"] == "AWS::IAM::Role"
        roles.add(role)
        if queue:
            (event,) = props["Events"].values()
            assert referenced(event["Properties"]["Queue"]) == {queue}
            # Lambda refuses an event source whose queue hides messages for less than the timeout.
            assert props["Timeout"] <= resources[queue]["Properties"]["VisibilityTimeout"]
    assert len(roles) == len(FUNCTIONS), "each function has its own role"


def test_the_table_stream_worker_reads_the_tables_stream_and_reports_failed_records(
        template: dict[str, Any]) -> None:
    table = template["Resources"]["MotcuaTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (event,) = template["Resources"]["OnTableRecord"]["Properties"]["Events"].values()
    props = event["Properties"]
    assert event["Type"] == "DynamoDB"
    assert props["Stream"] == {"Fn::GetAtt": ["MotcuaTable", "StreamArn"]}  # not chalice's placeholder
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert referenced(props["DestinationConfig"]["OnFailure"]["Destination"]) == {"TableEventsDeadLetterQueue"}


def _matches(pattern: Any, value: Any) -> bool:
    """Lambda event filtering for the pattern forms the template uses: nested objects, and lists
    of exact values (anything else fails the test rather than pass unchecked)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(key in value and _matches(p, value[key]) for key, p in pattern.items())
    assert isinstance(pattern, list) and all(isinstance(v, str | bool | int) for v in pattern), pattern
    return value in pattern


def test_the_table_stream_filter_passes_every_record_the_worker_reacts_to(template: dict[str, Any]) -> None:
    """A record the filter drops never reaches the worker in AWS (locally nothing filters): each
    change table_change names must pass, and the bulk of the table's writes must not."""
    from chalicelib.store.stream import table_change
    from tests.unit.store import test_stream as samples

    (event,) = template["Resources"]["OnTableRecord"]["Properties"]["Events"].values()
    patterns = [json.loads(f["Pattern"]) for f in event["Properties"]["FilterCriteria"]["Filters"]]

    def passes(record: dict[str, Any]) -> bool:
        return any(_matches(pattern, record) for pattern in patterns)

    wanted = [samples.record("INSERT", samples.LOG), samples.record("INSERT", samples.STAFF_READ),
              samples.record("MODIFY", samples.upload(True), samples.upload(False))]
    assert all(table_change(record) is not None and passes(record) for record in wanted)
    dossier = {"PK": {"S": f"DOSSIER#{samples.CODE}"}, "SK": {"S": "META"}, "kind": {"S": "dossier"}}
    dropped = [samples.record("MODIFY", dossier, dossier), samples.record("INSERT", samples.upload(False)),
               samples.record("MODIFY", samples.STAFF_READ, samples.STAFF_READ),
               samples.record("INSERT", {"PK": {"S": "IDEMPOTENCY#x"}, "SK": {"S": "x#1"}})]
    assert not any(passes(record) for record in dropped)


def test_function_roles_are_least_privilege(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in FUNCTIONS:
        role = resources[resources[name]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        assert "ManagedPolicyArns" not in role
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        assert statements
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), (name, statement)
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for target in targets:
                if target == "*":
                    assert set(actions) <= STAR_RESOURCE_ACTIONS, (name, statement)
                    continue
                names = referenced(target)
                # scoped: to a resource of this stack, or to a name under the province's prefix
                assert names & set(resources) or "Province" in names or "NotifySenderEmail" in names, (name, target)
                if "Fn::Sub" in target:
                    text = target["Fn::Sub"]
                    assert not re.search(r":\*:|^\*", text), (name, text)  # no wildcard region/account


def test_table_hardening(template: dict[str, Any]) -> None:
    (table,) = of_type(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"]["Enabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_buckets_are_private_encrypted_tls_only_with_fresh_signatures(template: dict[str, Any]) -> None:
    buckets = of_type(template, "AWS::S3::Bucket")
    policies = {referenced(p["Properties"]["Bucket"]).pop(): p["Properties"]["PolicyDocument"]
                for p in of_type(template, "AWS::S3::BucketPolicy").values()}
    assert set(buckets) == {"UploadsBucket", "DocumentsBucket"}
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(props["PublicAccessBlockConfiguration"]) == 4
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        denials = [s for s in policies[name]["Statement"] if s["Effect"] == "Deny"]
        assert any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in denials)
        assert any("s3:signatureAge" in s.get("Condition", {}).get("NumericGreaterThan", {}) for s in denials)
    rules = buckets["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(rule.get("TagFilters") == [{"Key": "motcua-attached", "Value": "false"}] and "ExpirationInDays" in rule
               for rule in rules), "uploads never attached must expire"


def test_the_uploads_bucket_tells_the_upload_events_queue_of_citizens_uploads(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["UploadsBucket"]
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert referenced(notification["Queue"]) == {"UploadEventsQueue"}
    # S3 checks it may send when the configuration is put: the queue's policy must exist first.
    assert "UploadEventsQueuePolicy" in bucket["DependsOn"]
    policy = resources["UploadEventsQueuePolicy"]["Properties"]
    assert [referenced(queue) for queue in policy["Queues"]] == [{"UploadEventsQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    bucket_name = bucket["Properties"]["BucketName"]["Fn::Sub"]
    assert source.endswith(f":s3:::{bucket_name}")  # this stack's uploads bucket only


def test_a_schedule_sends_the_task_worker_the_overdue_sweep(template: dict[str, Any]) -> None:
    """The route's waits have no timeouts: the stack's rule is the watch over deadlines."""
    from chalicelib.services.routing import OVERDUE_SWEEP_MESSAGE

    resources = template["Resources"]
    rule = resources["OverdueSweepSchedule"]["Properties"]
    assert rule["ScheduleExpression"] == "rate(5 minutes)" and rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert referenced(target["Arn"]) == {"TaskQueue"}
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"at": "$.time"}
    # EventBridge puts the event's time (a JSON string) where <at> is.
    body = json.loads(transformer["InputTemplate"].replace("<at>", json.dumps("2026-11-27T01:05:00Z")))
    assert body == {"type": OVERDUE_SWEEP_MESSAGE, "at": "2026-11-27T01:05:00Z"}
    policy = resources["TaskQueueSchedulePolicy"]["Properties"]
    assert [referenced(queue) for queue in policy["Queues"]] == [{"TaskQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert referenced(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == {"OverdueSweepSchedule"}


def test_every_queue_with_a_dead_letter_queue_has_an_alarm(template: dict[str, Any]) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    dead_letter_queues = {referenced(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]).pop()
                          for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    assert dead_letter_queues == {"TaskDeadLetterQueue", "WebhookDeadLetterQueue"}
    for queue in dead_letter_queues:
        watching = [a["Properties"] for a in alarms if a["Properties"].get("Namespace") == "AWS/SQS"
                    and any(referenced(d["Value"]) == {queue} for d in a["Properties"]["Dimensions"])]
        assert len(watching) == 1, queue
        assert watching[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert watching[0]["AlarmActions"]


def test_api_5xx_and_overdue_task_alarms(template: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in of_type(template, "AWS::CloudWatch::Alarm").values()]
    api = [a for a in alarms if a["Namespace"] == "AWS/ApiGateway" and a["MetricName"] == "5XXError"]
    assert len(api) == 1 and api[0]["Statistic"] == "Average"  # a rate
    api_name = next(d["Value"] for d in api[0]["Dimensions"] if d["Name"] == "ApiName")
    assert api_name == template["Resources"]["RestAPI"]["Properties"]["Name"]
    overdue = [a for a in alarms if a["Namespace"] == "motcua" and a["MetricName"] == "OverdueTasks"]
    assert len(overdue) == 1
    assert {d["Name"] for d in overdue[0]["Dimensions"]} == {"Province", "service"}


def test_the_alarms_topic_is_encrypted_with_a_key_cloudwatch_may_use(template: dict[str, Any]) -> None:
    """CloudWatch publishes to an encrypted topic only if the key's policy lets it: never with the
    AWS-managed alias/aws/sns key, whose policy cannot be changed."""
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    topics = {name for a in alarms for action in a["Properties"].get("AlarmActions", []) for name in referenced(action)}
    for topic in topics:
        key = template["Resources"][topic]["Properties"]["KmsMasterKeyId"]
        (key_name,) = referenced(key)
        statements = template["Resources"][key_name]["Properties"]["KeyPolicy"]["Statement"]
        cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
        assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])


def test_api_stage_is_throttled(template: dict[str, Any]) -> None:
    (api,) = of_type(template, "AWS::Serverless::Api").values()
    settings = api["Properties"]["MethodSettings"]
    assert any(s["ResourcePath"] == "/*" and s["HttpMethod"] == "*" and "ThrottlingRateLimit" in s
               and "ThrottlingBurstLimit" in s for s in settings)


def test_state_machine_runs_the_local_stacks_definition(template: dict[str, Any]) -> None:
    (machine,) = of_type(template, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["Definition"] == json.loads(ASL.read_text(encoding="utf-8"))
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL.read_text(encoding="utf-8")))
    assert placeholders == set(props["DefinitionSubstitutions"])


def test_stripe_keys_are_a_secret_by_reference(template: dict[str, Any]) -> None:
    (secret,) = of_type(template, "AWS::SecretsManager::Secret").values()
    assert "SecretString" not in secret["Properties"]  # ops put the value; the template never holds it
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert "MOTCUA_STRIPE_SECRET_KEY" not in variables and "MOTCUA_STRIPE_WEBHOOK_SECRET" not in variables
