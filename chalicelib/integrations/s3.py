"""S3: presigned POSTs for uploads, presigned GETs for templates and results."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from chalicelib.domain.uploads import safe_filename
from chalicelib.integrations import aws
from chalicelib.integrations.aws import client

# Regions of the commercial partition, where an S3 client presigns on the global endpoint
# (https://<bucket>.s3.amazonaws.com/...), and bucket names it addresses virtual-hosted there.
_COMMERCIAL_REGION = re.compile(r"(?:af|ap|ca|eu|il|me|mx|sa|us)-(?!gov|iso)[a-z]+-[0-9]+")
_PLAIN_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


def content_disposition(filename: str) -> str:
    """``attachment`` with the file's name: as is when plain ASCII, else an ASCII fallback and
    the real name in RFC 6266/5987 form (``filename*=UTF-8''...``)."""
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\;'):
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{safe_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


def tagging_xml(tags: Mapping[str, str]) -> str:
    """Object tags as S3's POST form field ``tagging`` takes them."""
    tag_set = "".join(f"<Tag><Key>{escape(key)}</Key><Value>{escape(value)}</Value></Tag>"
                      for key, value in tags.items())
    return f"<Tagging><TagSet>{tag_set}</TagSet></Tagging>"


class StorageError(Exception):
    """S3 refused or did not answer a call (after botocore's own retries)."""


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str
    etag: str = ""  # without S3's quotes, as its event notifications give it


class DocumentStorage:
    def __init__(self, region: str) -> None:
        self._region = region

    @property
    def _s3(self) -> Any:
        return client("s3", self._region)

    def presigned_post(
        self, bucket: str, key: str, *, content_type: str, size: int, expires_in: int,
        key_prefix: str | None = None, tags: Mapping[str, str] | None = None,
    ) -> PresignedPost:
        """A POST whose policy pins the key, the content type and the exact size declared
        (and, with ``key_prefix``, states the prefix the key must start with as well). With
        ``tags``, S3 stores the object with those tags: the form carries a ``tagging`` field
        and the policy an exact condition on it, so the uploader can neither drop nor change it."""
        fields = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"bucket": bucket},
            {"key": key},
            {"Content-Type": content_type},
            ["content-length-range", size, size],
        ]
        if tags:
            fields["tagging"] = tagging_xml(tags)
            conditions.append({"tagging": fields["tagging"]})
        if key_prefix is not None:
            if not key.startswith(key_prefix):
                raise ValueError(f"key {key!r} is not under {key_prefix!r}")
            conditions.append(["starts-with", "$key", key_prefix])
        response = self._s3.generate_presigned_post(
            Bucket=bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=response["url"], fields=dict(response["fields"]))

    def presigned_get(self, bucket: str, key: str, *, expires_in: int, filename: str | None = None) -> str:
        disposition = content_disposition(filename) if filename else None
        signed = self._presigned_get_without_client(bucket, key, expires_in, disposition)
        if signed is not None:
            return signed
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url

    def _presigned_get_without_client(self, bucket: str, key: str, expires_in: int,
                                      disposition: str | None) -> str | None:
        """The URL an S3 client would presign, signed with botocore's own SigV4 query signer but
        without the client: building one loads S3's service model and endpoint rules, ~50 ms and
        ~5 MiB that a cold procedure page (its templates' links) would pay. ``None`` whenever the
        configuration is one where the client might address S3 otherwise (tests compare both)."""
        session = aws.session()
        if session.get_scoped_config() or any(session.get_config_variable(name) for name in (
                "use_fips_endpoint", "use_dualstack_endpoint", "ignore_configured_endpoint_urls")):
            return None  # a profile's settings (s3 addressing, endpoints...), FIPS or dual-stack
        path = quote(key, safe="/~")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            # A configured endpoint (the local stack's moto) is addressed path-style.
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
                return None
            url = f"{parts.scheme}://{parts.netloc}/{bucket}/{path}"
        elif _COMMERCIAL_REGION.fullmatch(self._region) and _PLAIN_BUCKET.fullmatch(bucket):
            url = f"https://{bucket}.s3.amazonaws.com/{path}"
        else:
            return None
        credentials = session.get_credentials()
        if credentials is None:
            return None  # the client would fail the same way; let it say so
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="GET", url=url,
                             params={"response-content-disposition": disposition} if disposition else {})
        S3SigV4QueryAuth(credentials.get_frozen_credentials(), "s3", self._region, expires=expires_in).add_auth(request)
        return request.url

    def head(self, bucket: str, key: str) -> StoredObject | None:
        from botocore.exceptions import ClientError

        try:
            response = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredObject(size=int(response["ContentLength"]), content_type=response.get("ContentType", ""),
                            etag=str(response.get("ETag", "")).strip('"'))

    def set_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        """Replaces the object's tag set; StorageError if S3 refuses or does not answer."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.put_object_tagging(
                Bucket=bucket, Key=key,
                Tagging={"TagSet": [{"Key": name, "Value": value} for name, value in tags.items()]})
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"S3 PutObjectTagging failed: {type(error).__name__}") from error

    def put(self, bucket: str, key: str, body: bytes, *, content_type: str) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
