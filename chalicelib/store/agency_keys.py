"""Agency API keys in the single table (see ``chalicelib/store/models.py`` for the rest).

Access patterns (continuing the table in ``models.py``):

| #  | pattern                               | key condition                                                      |
|----|---------------------------------------|--------------------------------------------------------------------|
| 10 | agency API key by key id              | PK = AGENCYKEY#<key id>, SK = META                                 |
| 11 | an agency's API keys, oldest first    | GSI1: GSI1PK = AGENCY#<code>#KEYS, GSI1SK = <created iso>#<key id> |

Only the key's SHA-256 digest is stored, never the key itself. A decision authenticated from a key
a container remembers (``services/seen_tasks.py``) reads no key: its transaction checks pattern 10's
item instead (``still_valid_in``).
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.agency_keys import IssuedKey, StoredKey
from chalicelib.domain.tasks import Task
from chalicelib.store import models as m
from chalicelib.store.repository import task_of

_CONDITION_FAILED = "ConditionalCheckFailedException"


def agency_key_pk(key_id: str) -> str:
    return f"AGENCYKEY#{key_id}"


def agency_keys_pk(agency_code: str) -> str:
    return f"AGENCY#{agency_code}#KEYS"


def agency_key_created_sk(created_iso: str, key_id: str) -> str:
    return f"{created_iso}#{key_id}"


class AgencyKeyItem(m.TableItem, discriminator="agency_key"):
    key_id = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    digest = UnicodeAttribute()  # SHA-256 hex of the whole key
    label = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class KeyIdTaken(RuntimeError):
    """Another key already has this key id (32 random bits: rare, the caller draws again)."""


def _stored(item: AgencyKeyItem) -> StoredKey:
    return StoredKey(
        key_id=item.key_id,
        agency_code=item.agency_code,
        digest=item.digest,
        label=item.label,
        created_at=item.created_at,
        revoked_at=item.revoked_at,
    )


class AgencyKeyStore(m.BoundStore):
    def put_key(self, agency_code: str, issued: IssuedKey, label: str, created_at: datetime) -> StoredKey:
        """Stores a new key's digest (pattern 10, listed by pattern 11); raises KeyIdTaken on a clash."""
        item = AgencyKeyItem(
            agency_key_pk(issued.key_id), m.META,
            key_id=issued.key_id, agency_code=agency_code, digest=issued.digest, label=label,
            created_at=created_at, revoked_at=None,
            gsi1pk=agency_keys_pk(agency_code),
            gsi1sk=agency_key_created_sk(created_at.isoformat(), issued.key_id),
        )
        try:
            item.save(condition=AgencyKeyItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == _CONDITION_FAILED:
                raise KeyIdTaken(issued.key_id) from None
            raise
        return _stored(item)

    def get_key(self, key_id: str) -> StoredKey | None:
        try:
            # Consistent: a revocation takes effect on the very next call.
            item = AgencyKeyItem.get(agency_key_pk(key_id), m.META, consistent_read=True)
        except DoesNotExist:
            return None
        return _stored(item)

    @staticmethod
    def still_valid_in(transaction: TransactWrite, key: StoredKey) -> None:
        """Adds to a transaction the condition that the key's record is still as ``key`` (same
        digest) and not revoked: a call authenticated from what a container remembers of the key
        is written only if the key is still good at that moment."""
        transaction.condition_check(AgencyKeyItem, agency_key_pk(key.key_id), m.META,
                                    condition=(AgencyKeyItem.digest == key.digest)
                                    & AgencyKeyItem.revoked_at.does_not_exist())

    def get_key_and_task(self, key_id: str, task_id: str) -> tuple[StoredKey | None, Task | None]:
        """The key and a task (pattern 10 of models.py) in one consistent BatchGetItem: an agency's
        call on one of its tasks authenticates and finds the task in one round trip, and a
        revocation still takes effect on the very next call."""
        keys = [(agency_key_pk(key_id), m.META), (m.task_pk(task_id), m.META)]
        key: StoredKey | None = None
        task: Task | None = None
        for item in m.TableItem.batch_get(keys, consistent_read=True):
            if isinstance(item, AgencyKeyItem) and item.pk == keys[0][0]:
                key = _stored(item)
            elif isinstance(item, m.TaskItem):
                task = task_of(item)
        return key, task

    def revoke(self, key_id: str, at: datetime) -> bool:
        """Marks the key revoked; False if there is no such key. Revoking twice keeps the first time."""
        item = AgencyKeyItem(agency_key_pk(key_id), m.META)
        try:
            item.update(
                actions=[AgencyKeyItem.revoked_at.set(at)],
                condition=AgencyKeyItem.pk.exists() & AgencyKeyItem.revoked_at.does_not_exist(),
            )
        except UpdateError as error:
            if error.cause_response_code != _CONDITION_FAILED:
                raise
            return self.get_key(key_id) is not None
        return True

    def keys_of(self, agency_code: str) -> list[StoredKey]:
        """The agency's keys, revoked ones included, oldest first (pattern 11)."""
        return [_stored(item) for item in m.TableItem.gsi1.query(agency_keys_pk(agency_code))
                if isinstance(item, AgencyKeyItem)]
