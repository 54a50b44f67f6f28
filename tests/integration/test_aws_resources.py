"""tools/aws_resources.py: infra/template.json translated to API calls, on moto in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools.aws_resources import TemplateError, create_resources

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.json"
REGION = "ap-southeast-1"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def outputs(moto: None) -> dict[str, str]:
    return create_resources(TEMPLATE, province="lamdong", endpoint_url=None, region=REGION)


def write_template(tmp_path: Path, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "template.json"
    template = {"Parameters": {"Province": {"Type": "String", "Default": "lamdong"}}, "Resources": resources,
                "Outputs": outputs or {}}
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


def test_outputs_are_resolved(outputs: dict[str, str]) -> None:
    assert set(outputs) == {"TableName", "UploadsBucketName", "DocumentsBucketName",
                            "CitizenUserPoolId", "CitizenUserPoolClientId", "TaskQueueUrl", "WebhookQueueUrl",
                            "WebhookDeadLetterQueueUrl", "RouteStateMachineArn", "NotifyFromEmail",
                            "UploadEventsQueueUrl", "TableStreamArn", "TableEventsDeadLetterQueueUrl"}
    assert outputs["TaskQueueUrl"].endswith("/123456789012/motcua-lamdong-tasks")
    # The table streams both images (services/table_events.py compares an upload's before and after).
    assert outputs["TableStreamArn"].startswith(f"arn:aws:dynamodb:{REGION}:123456789012:table/motcua-lamdong/stream/")
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="motcua-lamdong")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert outputs["RouteStateMachineArn"].endswith(":stateMachine:motcua-lamdong-route")
    assert outputs["TableName"] == "motcua-lamdong"
    assert outputs["UploadsBucketName"] == "motcua-lamdong-uploads-123456789012"
    assert outputs["DocumentsBucketName"] == "motcua-lamdong-documents-123456789012"
    assert outputs["CitizenUserPoolId"].startswith(f"{REGION}_")
    assert outputs["CitizenUserPoolClientId"]


def test_the_uploads_bucket_notifies_the_upload_events_queue(outputs: dict[str, str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    configuration = s3.get_bucket_notification_configuration(Bucket=outputs["UploadsBucketName"])
    (queue,) = configuration["QueueConfigurations"]
    assert queue["QueueArn"].endswith(":motcua-lamdong-upload-events")
    assert queue["Events"] == ["s3:ObjectCreated:*"]
    assert queue["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert outputs["UploadEventsQueueUrl"].endswith("/motcua-lamdong-upload-events")
    sqs = boto3.client("sqs", region_name=REGION)
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=outputs["UploadEventsQueueUrl"],
                                                 AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}


def test_names_match_the_local_stage(outputs: dict[str, str]) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stage = config["stages"]["local"]["environment_variables"]
    assert stage["MOTCUA_PROVINCE"] == "lamdong"
    assert stage["MOTCUA_TABLE_NAME"] == outputs["TableName"]
    assert stage["MOTCUA_UPLOADS_BUCKET"] == outputs["UploadsBucketName"]
    assert stage["MOTCUA_DOCUMENTS_BUCKET"] == outputs["DocumentsBucketName"]


def test_table_has_keys_both_gsis_and_ttl(outputs: dict[str, str]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = dynamodb.describe_table(TableName=outputs["TableName"])["Table"]

    keys = {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]}
    assert keys == {("PK", "HASH"), ("SK", "RANGE")}
    indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {"GSI1", "GSI2"}
    for name in ("GSI1", "GSI2"):
        assert {(k["AttributeName"], k["KeyType"]) for k in indexes[name]["KeySchema"]} == {
            (f"{name}PK", "HASH"), (f"{name}SK", "RANGE")}
        assert indexes[name]["Projection"]["ProjectionType"] == "ALL"
    assert table.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST"

    ttl = dynamodb.describe_time_to_live(TableName=outputs["TableName"])["TimeToLiveDescription"]
    assert ttl.get("TimeToLiveStatus") == "ENABLED"
    assert ttl.get("AttributeName") == "expires_at"

    backups = dynamodb.describe_continuous_backups(TableName=outputs["TableName"])
    pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    assert pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    assert table.get("DeletionProtectionEnabled") is True


def test_buckets_are_private_encrypted_and_uploads_allow_cors(outputs: dict[str, str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for key in ("UploadsBucketName", "DocumentsBucketName"):
        bucket = outputs[key]
        assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == REGION
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                         "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    cors = s3.get_bucket_cors(Bucket=outputs["UploadsBucketName"])["CORSRules"]
    assert len(cors) == 1
    assert sorted(cors[0]["AllowedMethods"]) == ["GET", "POST"]
    assert cors[0]["AllowedOrigins"] == ["*"]
    assert cors[0]["AllowedHeaders"] == ["*"]
    assert cors[0]["MaxAgeSeconds"] == 3000

    with pytest.raises(s3.exceptions.ClientError) as raised:
        s3.get_bucket_cors(Bucket=outputs["DocumentsBucketName"])
    assert raised.value.response["Error"]["Code"] == "NoSuchCORSConfiguration"


def test_user_pool_and_client(outputs: dict[str, str]) -> None:
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.describe_user_pool(UserPoolId=outputs["CitizenUserPoolId"])["UserPool"]
    assert pool.get("Name") == "motcua-lamdong-citizens"
    assert pool.get("UsernameAttributes") == ["email"]
    assert pool.get("AutoVerifiedAttributes") == ["email"]
    policy = pool.get("Policies", {}).get("PasswordPolicy", {})
    assert policy.get("MinimumLength") == 10
    assert policy.get("RequireUppercase") is True
    assert policy.get("RequireSymbols") is False

    client = cognito.describe_user_pool_client(UserPoolId=outputs["CitizenUserPoolId"],
                                               ClientId=outputs["CitizenUserPoolClientId"])["UserPoolClient"]
    assert client.get("ClientName") == "motcua-lamdong-web"
    assert "ClientSecret" not in client
    assert set(client.get("ExplicitAuthFlows", [])) == {
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client.get("PreventUserExistenceErrors") == "ENABLED"


def test_a_second_call_reuses_the_resources(outputs: dict[str, str]) -> None:
    again = create_resources(TEMPLATE, province="lamdong", endpoint_url=None, region=REGION)
    assert again == outputs
    cognito = boto3.client("cognito-idp", region_name=REGION)
    assert len(cognito.list_user_pools(MaxResults=60)["UserPools"]) == 1


def test_province_parameter_names_the_resources(moto: None) -> None:
    outputs = create_resources(TEMPLATE, province="daklak", endpoint_url=None, region=REGION,
                               account_id="123456789012")
    assert outputs["TableName"] == "motcua-daklak"
    assert outputs["UploadsBucketName"] == "motcua-daklak-uploads-123456789012"


def test_province_must_match_the_parameter_pattern(moto: None) -> None:
    with pytest.raises(TemplateError, match="Province"):
        create_resources(TEMPLATE, province="Lâm Đồng", endpoint_url=None, region=REGION)


def test_us_east_1_bucket_has_no_location_constraint(moto: None, tmp_path: Path) -> None:
    template = write_template(tmp_path, {"B": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": {"Fn::Join": ["-", ["plain", {"Ref": "Province"}, {"Ref": "AWS::Region"}]]}}}},
        {"Name": {"Value": {"Ref": "B"}}, "Arn": {"Value": {"Fn::GetAtt": ["B", "Arn"]}}})
    outputs = create_resources(template, province="lamdong", endpoint_url=None, region="us-east-1")
    assert outputs == {"Name": "plain-lamdong-us-east-1", "Arn": "arn:aws:s3:::plain-lamdong-us-east-1"}
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_bucket_location(Bucket="plain-lamdong-us-east-1")["LocationConstraint"] is None


def test_resources_are_created_after_those_they_refer_to(moto: None, tmp_path: Path) -> None:
    template = write_template(tmp_path, {
        "Client": {"Type": "AWS::Cognito::UserPoolClient",
                   "Properties": {"UserPoolId": {"Ref": "Pool"},
                                  "ClientName": {"Fn::Sub": "${Pool.ProviderName}"},
                                  "GenerateSecret": {"Ref": "AWS::NoValue"}}},
        "Pool": {"Type": "AWS::Cognito::UserPool",
                 "Properties": {"UserPoolName": {"Fn::Sub": ["p-${Name}-${!Literal}", {"Name": "x"}]}}},
    }, {"Client": {"Value": {"Fn::GetAtt": "Client.Name"}}, "Pool": {"Value": {"Ref": "Pool"}}})
    outputs = create_resources(template, province="lamdong", endpoint_url=None, region=REGION)
    assert outputs["Client"] == f"cognito-idp.{REGION}.amazonaws.com/{outputs['Pool']}"
    cognito = boto3.client("cognito-idp", region_name=REGION)
    pool = cognito.describe_user_pool(UserPoolId=outputs["Pool"])["UserPool"]
    assert pool.get("Name") == "p-x-${Literal}"


def test_unknown_resource_type_is_an_error(moto: None, tmp_path: Path) -> None:
    template = write_template(tmp_path, {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}})
    with pytest.raises(TemplateError, match=r"Topic.*AWS::SNS::Topic"):
        create_resources(template, province="lamdong", endpoint_url=None, region=REGION)


def test_queues_have_their_dead_letter_queues(outputs: dict[str, str]) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for queue, dead_letters in (("TaskQueueUrl", "motcua-lamdong-tasks-dlq"),
                                ("WebhookQueueUrl", "motcua-lamdong-webhooks-dlq")):
        attributes = sqs.get_queue_attributes(QueueUrl=outputs[queue], AttributeNames=["All"])["Attributes"]
        policy = json.loads(attributes["RedrivePolicy"])
        assert policy["deadLetterTargetArn"].endswith(f":{dead_letters}")
        assert int(policy["maxReceiveCount"]) == 5


def test_the_state_machine_runs_the_route_definition(outputs: dict[str, str]) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=outputs["RouteStateMachineArn"])["definition"])
    asl = (ROOT / "infra" / "statemachine" / "dossier_route.asl.json").read_text(encoding="utf-8")
    assert definition["StartAt"] == json.loads(asl)["StartAt"]
    body = json.dumps(definition)
    assert "${TaskQueueUrl}" not in body and outputs["TaskQueueUrl"] in body


def test_untranslated_property_is_an_error(moto: None, tmp_path: Path) -> None:
    template = write_template(tmp_path, {"B": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": "b", "AccelerateConfiguration": {"AccelerationStatus": "Enabled"}}}})
    with pytest.raises(TemplateError, match="AccelerateConfiguration"):
        create_resources(template, province="lamdong", endpoint_url=None, region=REGION)


def test_unsupported_intrinsic_function_is_an_error(moto: None, tmp_path: Path) -> None:
    template = write_template(tmp_path, {"B": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": {"Fn::If": ["c", "a", "b"]}}}})
    with pytest.raises(TemplateError, match="Fn::If"):
        create_resources(template, province="lamdong", endpoint_url=None, region=REGION)
