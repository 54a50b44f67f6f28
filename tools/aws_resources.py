"""Create the resources of ``infra/template.json`` on moto, from the template's own properties.

moto's CloudFormation does not support Cognito, so the local stack translates the
template's resources into the equivalent API calls instead of deploying it. The
translation is deliberately strict: a resource type or a property that is not
translated here raises :class:`TemplateError`, so that something added to the
template is never silently missing from the local stack. Extend the tables below
when the template grows. AWS-only resource types (alarms, bucket policies, log groups, secrets)
are listed in ``SKIPPED_TYPES`` with the reason each is not created locally; they are logged,
never silently dropped, and nothing created locally may refer to them.

Supported intrinsic functions: ``Ref`` (parameters, pseudo parameters, resources),
``Fn::Sub`` (both forms, ``${!Literal}`` escapes, ``${Resource.Attribute}``),
``Fn::GetAtt``, ``Fn::Join``; ``AWS::NoValue`` removes a property.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

__all__ = ["TemplateError", "create_resources"]

log = logging.getLogger(__name__)


class TemplateError(ValueError):
    """The template uses something this translator does not know how to create."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _Template:
    """Resolves intrinsic functions against parameters and already created resources."""

    def __init__(self, template: dict[str, Any], *, parameters: dict[str, str],
                 region: str, account_id: str) -> None:
        self.resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
        self.outputs: dict[str, dict[str, Any]] = template.get("Outputs") or {}
        if not self.resources:
            raise TemplateError("the template has no Resources")
        stack_name = f"motcua-{parameters.get('Province', 'local')}"
        self.values: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }
        self.values.update(_parameter_values(template.get("Parameters") or {}, parameters))
        self.physical_ids: dict[str, str] = {}
        self.skipped: set[str] = set()  # AWS-only resources (SKIPPED_TYPES), not created locally
        self.attributes: dict[str, dict[str, str]] = {}

    # -- intrinsic functions --------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref":
                    return self._ref(argument)
                if key == "Fn::Sub":
                    return self._sub(argument)
                if key == "Fn::GetAtt":
                    return self._get_att(argument)
                if key == "Fn::Join":
                    return self._join(argument)
                if key.startswith("Fn::") or key == "Condition":
                    raise TemplateError(f"intrinsic function {key} is not supported locally")
            resolved_dict = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved_dict.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        return value

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"Ref takes a name, got {name!r}")
        if name in self.values:
            return self.values[name]
        if name in self.resources:
            if name not in self.physical_ids:
                raise TemplateError(f"Ref to {name} before it was created (dependency cycle?)")
            return self.physical_ids[name]
        if name in self.skipped:
            raise TemplateError(f"Ref to {name}, an AWS-only resource the local stack skips")
        raise TemplateError(f"Ref to unknown parameter or resource {name!r}")

    def _get_att(self, argument: Any) -> str:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2
                and all(isinstance(part, str) for part in argument)):
            raise TemplateError(f"Fn::GetAtt takes [resource, attribute], got {argument!r}")
        logical_id, attribute = argument
        if logical_id in self.skipped:
            raise TemplateError(f"Fn::GetAtt on {logical_id}, an AWS-only resource the local stack skips")
        if logical_id not in self.resources:
            raise TemplateError(f"Fn::GetAtt on unknown resource {logical_id!r}")
        if logical_id not in self.attributes:
            raise TemplateError(f"Fn::GetAtt on {logical_id} before it was created (dependency cycle?)")
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(
                f"Fn::GetAtt {logical_id}.{attribute} is not supported locally "
                f"(known: {', '.join(sorted(self.attributes[logical_id]))})"
            ) from None

    def _sub(self, argument: Any) -> str:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise TemplateError(f"Fn::Sub takes a string or [string, {{variables}}], got {argument!r}")
            text = argument[0]
            variables = {key: self.resolve(item) for key, item in argument[1].items()}
        else:
            text = argument
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub takes a string, got {text!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = self._get_att(name)
            else:
                value = self._ref(name)
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise TemplateError(f"Fn::Sub variable {name} is not a scalar: {value!r}")
            return str(value)

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, argument: Any) -> str:
        if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[0], str)):
            raise TemplateError(f"Fn::Join takes [delimiter, [values]], got {argument!r}")
        values = self.resolve(argument[1])
        if not isinstance(values, list):
            raise TemplateError(f"Fn::Join values must be a list, got {values!r}")
        return str(argument[0]).join(str(value) for value in values)

    # -- ordering ---------------------------------------------------------------------------

    def creation_order(self) -> list[str]:
        """Resources sorted so that each comes after those it refers to."""
        dependencies = {
            logical_id: self._references(resource.get("Properties") or {}) | _depends_on(resource)
            for logical_id, resource in self.resources.items()
        }
        order: list[str] = []
        visiting: set[str] = set()

        def visit(logical_id: str) -> None:
            if logical_id in order:
                return
            if logical_id in visiting:
                raise TemplateError(f"dependency cycle through {logical_id}")
            visiting.add(logical_id)
            for dependency in sorted(dependencies[logical_id]):
                if dependency not in self.resources:
                    raise TemplateError(f"{logical_id} depends on unknown resource {dependency!r}")
                visit(dependency)
            visiting.discard(logical_id)
            order.append(logical_id)

        for logical_id in self.resources:
            visit(logical_id)
        return order

    def _references(self, value: Any) -> set[str]:
        found: set[str] = set()
        for kind, argument in _walk_intrinsics(value):
            if kind == "Ref" and isinstance(argument, str) and argument in self.resources:
                found.add(argument)
            elif kind == "Fn::GetAtt":
                name = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                if name in self.resources:
                    found.add(name)
            elif kind == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) else argument
                local = set(argument[1]) if isinstance(argument, list) and len(argument) > 1 else set()
                for name in _SUB_VARIABLE.findall(text if isinstance(text, str) else ""):
                    base = name.split(".", 1)[0]
                    if name not in local and base in self.resources:
                        found.add(base)
        return found


def _walk_intrinsics(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                yield key, argument
        for item in value.values():
            yield from _walk_intrinsics(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_intrinsics(item)


def _depends_on(resource: dict[str, Any]) -> set[str]:
    depends = resource.get("DependsOn") or []
    return {depends} if isinstance(depends, str) else set(depends)


def _parameter_values(declared: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            value = given[name]
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise TemplateError(f"template parameter {name} has no default and no value was given")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise TemplateError(f"template parameter {name}={value!r} does not match {pattern}")
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise TemplateError(f"template parameter {name}={value!r} is not one of {allowed}")
        values[name] = value
    return values


def _check_properties(logical_id: str, resource_type: str, properties: dict[str, Any],
                      known: set[str], required: frozenset[str] = frozenset()) -> None:
    unknown = sorted(set(properties) - known)
    if unknown:
        raise TemplateError(
            f"{logical_id} ({resource_type}): properties {', '.join(unknown)} are not translated by "
            "tools/aws_resources.py; add them there so the local stack matches the template"
        )
    missing = sorted(required - set(properties))
    if missing:
        raise TemplateError(f"{logical_id} ({resource_type}): required properties missing: {missing}")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _optional(description: str, call: Callable[[], object]) -> None:
    """Apply a setting moto may not support; warn instead of failing if it refuses."""
    try:
        call()
    except (ClientError, BotoCoreError, NotImplementedError) as error:
        log.warning("local stack: skipped %s (not supported here: %s)", description, error)


# -- DynamoDB ---------------------------------------------------------------------------------

_TABLE_PROPERTIES = {
    "TableName", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
    "BillingMode", "ProvisionedThroughput", "StreamSpecification", "SSESpecification", "TableClass",
    "DeletionProtectionEnabled", "Tags", "TimeToLiveSpecification", "PointInTimeRecoverySpecification",
}
_INDEX_KEYS = {"IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput"}


def _create_table(client: DynamoDBClient, logical_id: str, props: dict[str, Any],
                  default_name: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::DynamoDB::Table", props, _TABLE_PROPERTIES,
                      frozenset({"KeySchema", "AttributeDefinitions"}))
    name = props.get("TableName") or default_name
    params: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            params[key] = [{k: v for k, v in index.items() if k in _INDEX_KEYS} for index in props[key]]
    if "ProvisionedThroughput" in props:
        params["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if "StreamSpecification" in props:
        params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "Tags" in props:
        params["Tags"] = props["Tags"]
    optional: dict[str, Any] = {}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        optional["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled", False)),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    if "TableClass" in props:
        optional["TableClass"] = props["TableClass"]
    if "DeletionProtectionEnabled" in props:
        optional["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])

    try:
        description = client.describe_table(TableName=name)["Table"]
        log.info("table %s exists already", name)
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        try:
            description = client.create_table(**params, **optional)["TableDescription"]
        except (ClientError, BotoCoreError) as error:
            if not optional:
                raise
            log.warning("local stack: table %s created without %s (refused here: %s)",
                        name, ", ".join(optional), error)
            description = client.create_table(**params)["TableDescription"]

    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        current = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        wanted_status = "ENABLED" if ttl.get("Enabled") else "DISABLED"
        if current.get("TimeToLiveStatus") != wanted_status or (
            ttl.get("Enabled") and current.get("AttributeName") != ttl.get("AttributeName")
        ):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"],
                                         "Enabled": bool(ttl.get("Enabled"))},
            )
    pitr: Any = props.get("PointInTimeRecoverySpecification")
    if pitr:
        _optional(f"point-in-time recovery on {name}", lambda: client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=pitr))

    attributes = {"Arn": str(description.get("TableArn", ""))}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = str(description["LatestStreamArn"])
    return name, attributes


# -- S3 ---------------------------------------------------------------------------------------

_BUCKET_PROPERTIES = {
    "BucketName", "PublicAccessBlockConfiguration", "BucketEncryption", "CorsConfiguration",
    "VersioningConfiguration", "OwnershipControls", "LifecycleConfiguration", "Tags", "NotificationConfiguration",
}
# CloudFormation lifecycle rule → PutBucketLifecycleConfiguration rule (moto stores them; it
# never expires anything, like DynamoDB's TTL).
_LIFECYCLE_RULE_KEYS = {"Id", "Status", "Prefix", "TagFilters", "ExpirationInDays",
                        "AbortIncompleteMultipartUpload", "NoncurrentVersionExpiration"}
_CORS_RULE_KEYS = {
    "AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins",
    "AllowedHeaders": "AllowedHeaders", "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds", "Id": "ID",
}

_ENCRYPTION_RULE_KEYS = {
    "ServerSideEncryptionByDefault": "ApplyServerSideEncryptionByDefault",
    "BucketKeyEnabled": "BucketKeyEnabled",
}


def _create_bucket(client: S3Client, logical_id: str, props: dict[str, Any], default_name: str,
                   region: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::S3::Bucket", props, _BUCKET_PROPERTIES)
    name = str(props.get("BucketName") or default_name).lower()
    lifecycle_rules: list[Any] = []
    if "LifecycleConfiguration" in props:
        lifecycle_rules = [_lifecycle_rule(logical_id, rule)
                           for rule in props["LifecycleConfiguration"].get("Rules", [])]
        if not lifecycle_rules:  # S3 (and CloudFormation) refuse an empty configuration too
            raise TemplateError(f"{logical_id}: LifecycleConfiguration needs at least one rule")
    try:
        if region == "us-east-1":
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})  # type: ignore[typeddict-item]
    except ClientError as error:
        if _error_code(error) != "BucketAlreadyOwnedByYou":
            raise
        log.info("bucket %s exists already", name)

    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "BucketEncryption" in props:
        rules: list[Any] = []
        for rule in props["BucketEncryption"].get("ServerSideEncryptionConfiguration", []):
            unknown = set(rule) - set(_ENCRYPTION_RULE_KEYS)
            if unknown:
                raise TemplateError(f"{logical_id}: encryption keys {sorted(unknown)} are not translated")
            rules.append({_ENCRYPTION_RULE_KEYS[key]: value for key, value in rule.items()})
        client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "CorsConfiguration" in props:
        cors_rules: list[Any] = []
        for rule in props["CorsConfiguration"].get("CorsRules", []):
            unknown = set(rule) - set(_CORS_RULE_KEYS)
            if unknown:
                raise TemplateError(f"{logical_id}: CORS rule keys {sorted(unknown)} are not translated")
            cors_rules.append({_CORS_RULE_KEYS[key]: value for key, value in rule.items()})
        client.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors_rules})
    if "VersioningConfiguration" in props:
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]})
    if "OwnershipControls" in props:
        controls = props["OwnershipControls"]
        _optional(f"ownership controls on {name}", lambda: client.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls=controls))
    if lifecycle_rules:
        client.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle_rules})
    if "Tags" in props:
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
    if "NotificationConfiguration" in props:
        # moto delivers S3 event notifications to SQS, in-process and in server mode alike.
        client.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration=_notification_configuration(logical_id,
                                                                               props["NotificationConfiguration"]))

    suffix = "amazonaws.com"
    return name, {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.{suffix}",
        "RegionalDomainName": f"{name}.s3.{region}.{suffix}",
    }


def _notification_configuration(logical_id: str, configuration: dict[str, Any]) -> Any:
    """CloudFormation's NotificationConfiguration → PutBucketNotificationConfiguration's (queues only)."""
    unknown = set(configuration) - {"QueueConfigurations"}
    if unknown:
        raise TemplateError(f"{logical_id}: notification configurations {sorted(unknown)} are not translated")
    queues: list[dict[str, Any]] = []
    for queue in configuration["QueueConfigurations"]:
        if set(queue) - {"Event", "Filter", "Queue"}:
            raise TemplateError(f"{logical_id}: queue notification keys {sorted(set(queue))} are not translated")
        translated: dict[str, Any] = {"QueueArn": queue["Queue"], "Events": [queue["Event"]]}
        if "Filter" in queue:
            rules = queue["Filter"]["S3Key"]["Rules"]
            translated["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
        queues.append(translated)
    return {"QueueConfigurations": queues}


def _lifecycle_rule(logical_id: str, rule: dict[str, Any]) -> Any:
    unknown = set(rule) - _LIFECYCLE_RULE_KEYS
    if unknown:
        raise TemplateError(f"{logical_id}: lifecycle rule keys {sorted(unknown)} are not translated")
    conditions: list[dict[str, Any]] = [{"Key": tag["Key"], "Value": tag["Value"]}
                                        for tag in rule.get("TagFilters", [])]
    prefix = rule.get("Prefix")
    if prefix is not None and conditions:
        rule_filter: dict[str, Any] = {"And": {"Prefix": prefix, "Tags": conditions}}
    elif len(conditions) > 1:
        rule_filter = {"And": {"Tags": conditions}}
    elif conditions:
        rule_filter = {"Tag": conditions[0]}
    else:
        rule_filter = {"Prefix": prefix or ""}
    translated: dict[str, Any] = {"Status": rule["Status"], "Filter": rule_filter}
    if "Id" in rule:
        translated["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        translated["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        translated["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "NoncurrentVersionExpiration" in rule:
        translated["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    return translated


# -- Cognito ----------------------------------------------------------------------------------

# CloudFormation property → CreateUserPool parameter (same shapes; only the pool name differs).
_USER_POOL_PROPERTIES = {
    "UserPoolName": "PoolName",
    "UsernameAttributes": "UsernameAttributes",
    "AliasAttributes": "AliasAttributes",
    "AutoVerifiedAttributes": "AutoVerifiedAttributes",
    "Policies": "Policies",
    "Schema": "Schema",
    "MfaConfiguration": "MfaConfiguration",
    "AccountRecoverySetting": "AccountRecoverySetting",
    "AdminCreateUserConfig": "AdminCreateUserConfig",
    "EmailConfiguration": "EmailConfiguration",
    "UsernameConfiguration": "UsernameConfiguration",
    "VerificationMessageTemplate": "VerificationMessageTemplate",
    "UserAttributeUpdateSettings": "UserAttributeUpdateSettings",
    "DeletionProtection": "DeletionProtection",
    "UserPoolTags": "UserPoolTags",
}
_USER_POOL_CLIENT_PROPERTIES = {
    "ClientName", "UserPoolId", "GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors",
    "RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
    "ReadAttributes", "WriteAttributes", "AllowedOAuthFlows", "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient", "CallbackURLs", "LogoutURLs", "DefaultRedirectURI",
    "SupportedIdentityProviders", "EnableTokenRevocation", "AuthSessionValidity",
}


def _create_user_pool(client: CognitoIdentityProviderClient, logical_id: str, props: dict[str, Any],
                      default_name: str, region: str, account_id: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::Cognito::UserPool", props, set(_USER_POOL_PROPERTIES))
    params = {_USER_POOL_PROPERTIES[key]: value for key, value in props.items()}
    params.setdefault("PoolName", default_name)
    name = params["PoolName"]

    pool_id = None
    for page in client.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 60}):
        for pool in page.get("UserPools", []):
            if pool.get("Name") == name:
                pool_id = pool["Id"]
                log.info("user pool %s exists already (%s)", name, pool_id)
    if pool_id is None:
        pool_id = client.create_user_pool(**params)["UserPool"]["Id"]

    return pool_id, {
        "UserPoolId": pool_id,
        "Arn": f"arn:aws:cognito-idp:{region}:{account_id}:userpool/{pool_id}",
        "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
        "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
    }


def _create_user_pool_client(client: CognitoIdentityProviderClient, logical_id: str,
                             props: dict[str, Any], default_name: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::Cognito::UserPoolClient", props, _USER_POOL_CLIENT_PROPERTIES,
                      frozenset({"UserPoolId"}))
    params = dict(props)
    params.setdefault("ClientName", default_name)
    pool_id = params["UserPoolId"]

    client_id = None
    paginator = client.get_paginator("list_user_pool_clients")
    for page in paginator.paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 60}):
        for existing in page.get("UserPoolClients", []):
            if existing.get("ClientName") == params["ClientName"]:
                client_id = existing["ClientId"]
                log.info("user pool client %s exists already (%s)", params["ClientName"], client_id)
    if client_id is None:
        client_id = client.create_user_pool_client(**params)["UserPoolClient"]["ClientId"]
    return client_id, {"ClientId": client_id, "Name": str(params["ClientName"])}


# -- SQS, IAM, Step Functions -------------------------------------------------------------------

_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout": "VisibilityTimeout",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "DelaySeconds": "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
}
_QUEUE_PROPERTIES = {"QueueName", "RedrivePolicy", "Tags", *_QUEUE_ATTRIBUTES}


def _create_queue(client: Any, logical_id: str, props: dict[str, Any], default_name: str,
                  region: str, account_id: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::SQS::Queue", props, _QUEUE_PROPERTIES)
    name = str(props.get("QueueName") or default_name)
    attributes = {_QUEUE_ATTRIBUTES[key]: str(value).lower() if isinstance(value, bool) else str(value)
                  for key, value in props.items() if key in _QUEUE_ATTRIBUTES}
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{region}:{account_id}:{name}"
    return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_queue_policy(client: Any, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Sets the policy on each queue (moto stores it; it does not check it when S3 sends)."""
    _check_properties(logical_id, "AWS::SQS::QueuePolicy", props, {"Queues", "PolicyDocument"},
                      frozenset({"Queues", "PolicyDocument"}))
    policy = json.dumps(props["PolicyDocument"])
    for url in props["Queues"]:
        client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return logical_id, {}


_ROLE_PROPERTIES = {"RoleName", "AssumeRolePolicyDocument", "Policies", "Description", "Path", "Tags"}


def _create_role(client: Any, logical_id: str, props: dict[str, Any], default_name: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::IAM::Role", props, _ROLE_PROPERTIES,
                      frozenset({"AssumeRolePolicyDocument"}))
    name = str(props.get("RoleName") or default_name)[:64]
    try:
        role = client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
                                  Path=props.get("Path", "/"))["Role"]
    except ClientError as error:
        if _error_code(error) != "EntityAlreadyExists":
            raise
        role = client.get_role(RoleName=name)["Role"]
    for policy in props.get("Policies", []):
        client.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                               PolicyDocument=json.dumps(policy["PolicyDocument"]))
    return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}


_STATE_MACHINE_PROPERTIES = {"StateMachineName", "StateMachineType", "RoleArn", "Definition",
                             "DefinitionSubstitutions", "LoggingConfiguration", "TracingConfiguration", "Tags"}
# moto's CloudFormation cannot create state machines, and a template cannot point at a
# local file: the ASL lives in its own file, named by this Metadata key, and is inlined
# here (and by `make package` for AWS) with DefinitionSubstitutions applied.
DEFINITION_FILE_METADATA = "motcua:DefinitionFile"


def state_machine_definition(template_dir: Path, resource: dict[str, Any], substitutions: dict[str, Any]) -> str:
    metadata = resource.get("Metadata") or {}
    relative = metadata.get(DEFINITION_FILE_METADATA)
    if not relative:
        raise TemplateError(f"a state machine needs Metadata.{DEFINITION_FILE_METADATA}")
    text: str = (template_dir / str(relative)).read_text(encoding="utf-8")
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(value))
    leftover = re.search(r"\$\{([A-Za-z0-9_]+)\}", text)
    if leftover:
        raise TemplateError(f"{relative}: ${{{leftover.group(1)}}} has no DefinitionSubstitutions entry")
    json.loads(text)  # fail here, not in Step Functions, on a broken file
    return text


def _create_state_machine(client: Any, logical_id: str, props: dict[str, Any], default_name: str,
                          definition: str) -> tuple[str, dict[str, str]]:
    _check_properties(logical_id, "AWS::StepFunctions::StateMachine", props, _STATE_MACHINE_PROPERTIES,
                      frozenset({"RoleArn"}))
    name = str(props.get("StateMachineName") or default_name)
    existing = [m["stateMachineArn"] for page in client.get_paginator("list_state_machines").paginate()
                for m in page["stateMachines"] if m["name"] == name]
    if existing:
        arn = existing[0]
        client.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=props["RoleArn"])
    else:
        arn = client.create_state_machine(name=name, definition=definition, roleArn=props["RoleArn"],
                                          type=props.get("StateMachineType", "STANDARD"))["stateMachineArn"]
    return arn, {"Arn": arn, "Name": name}


# -- SES --------------------------------------------------------------------------------------

_EMAIL_IDENTITY_PROPERTIES = {"EmailIdentity"}


def _create_email_identity(client: Any, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """An SES sender: an address is verified (moto verifies at once; AWS mails a link), a
    domain is registered. ``Ref`` is the identity itself."""
    _check_properties(logical_id, "AWS::SES::EmailIdentity", props, _EMAIL_IDENTITY_PROPERTIES,
                      frozenset({"EmailIdentity"}))
    identity = str(props["EmailIdentity"])
    if "@" in identity:
        client.verify_email_identity(EmailAddress=identity)  # idempotent
    else:
        client.verify_domain_identity(Domain=identity)
    return identity, {}


# -- entry point ------------------------------------------------------------------------------

SUPPORTED_TYPES = (
    "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient",
    "AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::IAM::Role", "AWS::StepFunctions::StateMachine",
    "AWS::SES::EmailIdentity",
)
# AWS-only resources: deployed by `make package` / `make deploy`, deliberately not created on
# the local stack. Nothing the local stack creates may refer to them (a Ref or Fn::GetAtt to one
# fails loudly), and each is logged as skipped.
SKIPPED_TYPES = {
    # Nothing publishes CloudWatch metrics locally: no Lambda, no API Gateway, and the app's
    # EMF metrics are only log lines outside Lambda. Alarms would never change state.
    "AWS::CloudWatch::Alarm": "CloudWatch alarms watch AWS metrics (Lambda, API Gateway, SQS, EMF)",
    # The buckets' TLS-only and signature-age denials: moto 5.2 evaluates a bucket policy's Deny
    # statements on object requests without their request context (aws:SecureTransport,
    # s3:signatureAge, s3:TlsVersion), so these would refuse every local upload and download.
    "AWS::S3::BucketPolicy": "TLS-only / signature-age bucket policies (moto would deny every object request)",
    # Lambda's log groups: no Lambda runs locally (chalice local and the pump log to the console).
    "AWS::Logs::LogGroup": "Lambda log groups (no Lambda locally)",
    # The local stack hands localstripe's test keys to the app as plain settings
    # (MOTCUA_STRIPE_SECRET_KEY / MOTCUA_STRIPE_WEBHOOK_SECRET); in AWS the app reads the secret
    # named by MOTCUA_STRIPE_SECRET_NAME.
    "AWS::SecretsManager::Secret": "Stripe keys live in Secrets Manager in AWS only (plain settings locally)",
}


def create_resources(template_path: Path, *, province: str, endpoint_url: str | None, region: str,
                     account_id: str = "123456789012") -> dict[str, str]:
    """Create every resource of the CloudFormation template and return its resolved Outputs.

    ``endpoint_url`` is the moto server (``None`` uses boto3's defaults, e.g. under
    ``moto.mock_aws`` or with ``AWS_ENDPOINT_URL`` set). Resources that exist already
    (same name) are reused, so the call can be repeated on the same server.
    """
    template = json.loads(Path(template_path).read_text(encoding="utf-8"))
    resolver = _Template(template, parameters={"Province": province}, region=region, account_id=account_id)

    skipped = {logical_id for logical_id, resource in resolver.resources.items()
               if resource.get("Type") in SKIPPED_TYPES}
    for logical_id in sorted(skipped):
        log.info("local stack: skipped %s (%s): %s", logical_id, resolver.resources[logical_id]["Type"],
                 SKIPPED_TYPES[resolver.resources[logical_id]["Type"]])
    resolver.resources = {k: v for k, v in resolver.resources.items() if k not in skipped}
    resolver.skipped = skipped

    for logical_id, resource in resolver.resources.items():
        resource_type = resource.get("Type")
        if resource_type not in SUPPORTED_TYPES:
            raise TemplateError(
                f"resource {logical_id} has type {resource_type!r}, which tools/aws_resources.py cannot "
                f"create on the local stack (supported: {', '.join(SUPPORTED_TYPES)}); add a translation"
            )
        if "Condition" in resource:
            raise TemplateError(f"resource {logical_id}: Conditions are not supported locally")

    session = boto3.session.Session(region_name=region)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    cognito = session.client("cognito-idp", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    iam = session.client("iam", endpoint_url=endpoint_url)
    stepfunctions = session.client("stepfunctions", endpoint_url=endpoint_url)
    ses = session.client("ses", endpoint_url=endpoint_url)

    for logical_id in resolver.creation_order():
        resource = resolver.resources[logical_id]
        resource_type = resource["Type"]
        props = resolver.resolve(resource.get("Properties") or {})
        default_name = f"{resolver.values['AWS::StackName']}-{logical_id}"
        if resource_type == "AWS::DynamoDB::Table":
            physical_id, attributes = _create_table(dynamodb, logical_id, props, default_name)
        elif resource_type == "AWS::S3::Bucket":
            physical_id, attributes = _create_bucket(s3, logical_id, props, default_name, region)
        elif resource_type == "AWS::Cognito::UserPool":
            physical_id, attributes = _create_user_pool(cognito, logical_id, props, default_name,
                                                        region, account_id)
        elif resource_type == "AWS::Cognito::UserPoolClient":
            physical_id, attributes = _create_user_pool_client(cognito, logical_id, props, default_name)
        elif resource_type == "AWS::SQS::Queue":
            physical_id, attributes = _create_queue(sqs, logical_id, props, default_name, region, account_id)
        elif resource_type == "AWS::SQS::QueuePolicy":
            physical_id, attributes = _create_queue_policy(sqs, logical_id, props)
        elif resource_type == "AWS::IAM::Role":
            physical_id, attributes = _create_role(iam, logical_id, props, default_name)
        elif resource_type == "AWS::SES::EmailIdentity":
            physical_id, attributes = _create_email_identity(ses, logical_id, props)
        else:  # AWS::StepFunctions::StateMachine
            definition = state_machine_definition(Path(template_path).parent, resource,
                                                  props.get("DefinitionSubstitutions") or {})
            physical_id, attributes = _create_state_machine(stepfunctions, logical_id, props, default_name,
                                                            definition)
        resolver.physical_ids[logical_id] = physical_id
        resolver.attributes[logical_id] = attributes
        log.info("%s %s ready: %s", resource_type, logical_id, physical_id)

    outputs: dict[str, str] = {}
    for name, output in resolver.outputs.items():
        if "Condition" in output:
            raise TemplateError(f"output {name}: Conditions are not supported locally")
        value = resolver.resolve(output.get("Value"))
        if not isinstance(value, str | int | float):
            raise TemplateError(f"output {name} does not resolve to a scalar: {value!r}")
        outputs[name] = str(value)
    return outputs
