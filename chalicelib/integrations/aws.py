"""Lazily created boto3 clients (creating one costs as much as importing boto3)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=16)
def client(service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    # boto3 honours AWS_ENDPOINT_URL, which is how the local stack points at moto.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4") \
        if service == "s3" else Config(retries={"mode": "standard", "max_attempts": 3})
    return boto3.session.Session().client(service, region_name=region, config=config)  # type: ignore[call-overload]
