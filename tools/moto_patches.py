"""Patches to moto where it falls short of AWS in ways the app relies on.

Thread safety: moto's DynamoDB backend is not thread-safe: a transaction deep-copies whole tables
to roll back, and restoring that copy after a cancelled transaction would undo
writes that other threads made meanwhile. Real DynamoDB serialises conflicting
writes; one lock around every DynamoDB call gives the local stack (and threaded
tests) the same guarantee (``serialize_dynamodb``).

POST tagging: S3 stores a POST upload's ``tagging`` form field as the object's tags;
moto drops it (``apply_post_tagging``).

Test and local infrastructure only: never imported by chalicelib.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_applied = False


def serialize_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True


_post_tagging_applied = False


def apply_post_tagging() -> None:
    """Makes moto's S3 store a POST upload's ``tagging`` form field as the object's tags, as S3
    does (moto 5.2.5 ignores the field; it checks no POST policy either, so this applies the
    field as sent: the policy that pins it is tested by decoding it)."""
    global _post_tagging_applied
    if _post_tagging_applied:
        return
    from xml.etree import ElementTree

    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        response = original(self, request, bucket_name)
        tagging = self.querystring.get("tagging") if self.data.get("Action") == "PutObject" else None
        status = response[0] if isinstance(response, tuple) else 200
        if tagging and 200 <= int(status) < 300:
            root = ElementTree.fromstring(tagging[0])
            tags = {tag.findtext("Key", ""): tag.findtext("Value", "") for tag in root.iter("Tag")}
            stored = self.backend.get_object(bucket_name, self.querystring["key"][0])
            if stored is not None:
                self.backend.put_object_tagging(key=stored, tags=tags)
        return response

    S3Response._bucket_response_post = _bucket_response_post  # type: ignore[method-assign]
    _post_tagging_applied = True
