"""Presigned GETs made without an S3 client are the very URLs an S3 client presigns."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from chalicelib.integrations import aws
from chalicelib.integrations.s3 import DocumentStorage, content_disposition

NOW = datetime.datetime(2026, 11, 26, 8, 30, 0)
BUCKET = "motcua-lamdong-documents-123456789012"
KEYS = ["lamdong/templates/1.001193-to-khai-khai-sinh.txt", "lamdong/tệp mẫu/Tờ khai (bản 2)+%~.pdf"]


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: NOW)
    monkeypatch.setattr(aws, "_session", None)  # each case: a session that reads its environment afresh
    aws.client.cache_clear()
    yield monkeypatch
    aws.client.cache_clear()


def _client(region: str) -> Any:
    return botocore.session.get_session().create_client("s3", region_name=region,
                                                        config=Config(signature_version="s3v4"))


def _by_a_client(s3: Any, key: str, filename: str | None) -> str:
    params = {"Bucket": BUCKET, "Key": key}
    if filename:
        params["ResponseContentDisposition"] = content_disposition(filename)
    url: str = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=900)
    return url


@pytest.mark.parametrize("region", ["ap-southeast-1", "us-east-1", "eu-west-1"])
@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:5000", "http://localhost:4566/"])
@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjEBcaDmFwLXNvdXRoZWFzdC0x"])
def test_same_url_as_the_client(plain_env: pytest.MonkeyPatch, region: str, endpoint: str | None,
                                token: str | None) -> None:
    if endpoint:
        plain_env.setenv("AWS_ENDPOINT_URL", endpoint)
    if token:
        plain_env.setenv("AWS_SESSION_TOKEN", token)
    storage, s3 = DocumentStorage(region), _client(region)
    for key in KEYS:
        for filename in (None, "to-khai.txt", "Tờ khai khai sinh.pdf"):
            disposition = content_disposition(filename) if filename else None
            fast = storage._presigned_get_without_client(BUCKET, key, 900, disposition)
            assert fast is not None
            assert fast == _by_a_client(s3, key, filename)
            assert storage.presigned_get(BUCKET, key, expires_in=900, filename=filename) == fast


def test_service_endpoint_wins_over_the_global_one(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    plain_env.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000")
    fast = DocumentStorage("ap-southeast-1")._presigned_get_without_client(BUCKET, KEYS[0], 900, None)
    assert fast is not None and fast.startswith(f"http://127.0.0.1:5000/{BUCKET}/")
    assert fast == _by_a_client(_client("ap-southeast-1"), KEYS[0], None)


@pytest.mark.parametrize(("region", "bucket", "variable"), [
    ("us-gov-west-1", BUCKET, None),
    ("cn-north-1", BUCKET, None),
    ("ap-southeast-1", "motcua.documents", None),
    ("ap-southeast-1", BUCKET, "AWS_USE_FIPS_ENDPOINT"),
    ("ap-southeast-1", BUCKET, "AWS_USE_DUALSTACK_ENDPOINT"),
])
def test_other_configurations_go_through_the_client(plain_env: pytest.MonkeyPatch, region: str, bucket: str,
                                                     variable: str | None) -> None:
    if variable:
        plain_env.setenv(variable, "true")
    storage = DocumentStorage(region)
    assert storage._presigned_get_without_client(bucket, KEYS[0], 900, None) is None
    url = storage.presigned_get(bucket, KEYS[0], expires_in=900)
    assert "X-Amz-Signature=" in url
