"""Lazily created AWS clients, all made from one botocore session per process.

A botocore session loads the endpoint data and, per service, the service model and endpoint
rules; a new session per client (as ``boto3.client`` or PynamoDB make them) loads them all
again, tens of milliseconds and several MiB each on a cold start. One session shares them.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.session import Session

# Client creation is not safe from several threads on one session (botocore builds the
# session's components lazily); the local API server and the tests do run threads.
_creating = threading.Lock()


_session: Session | None = None


def session() -> Session:
    """The process's botocore session (PynamoDB's connections use it too: see store/models.py)."""
    global _session
    if _session is None:
        import botocore.session

        with _creating:
            if _session is None:
                _session = botocore.session.get_session()
    return _session


@lru_cache(maxsize=16)
def client(service: str, region: str) -> Any:
    from botocore.config import Config

    # botocore honours AWS_ENDPOINT_URL, which is how the local stack points at moto.
    config = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4") \
        if service == "s3" else Config(retries={"mode": "standard", "max_attempts": 3})
    shared = session()
    with _creating:
        return shared.create_client(service, region_name=region, config=config)
