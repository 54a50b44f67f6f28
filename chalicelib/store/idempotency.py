"""Where Powertools Idempotency keeps its records: the app's own table (access pattern 16 of
``models.py``), one partition per kind of message, the table's TTL attribute as the expiry."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.integrations.aws import client
from chalicelib.store import models as m

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


@lru_cache(maxsize=8)
def persistence_layer(table_name: str, region: str, kind: str, expiry_seconds: int) -> DynamoDBPersistenceLayer:
    """One layer per kind (built at the first message, not at import). ``expiry_seconds`` is part
    of the cache key: Powertools reads the expiry once per layer."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table_name, key_attr=m.TableItem.pk.attr_name, sort_key_attr=m.TableItem.sk.attr_name,
        static_pk_value=m.idempotency_pk(kind), expiry_attr=m.RateItem.expires_at.attr_name,
        boto3_client=client("dynamodb", region))
