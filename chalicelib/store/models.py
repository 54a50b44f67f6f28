"""The single DynamoDB table, its key builders and its access patterns.

Every item has ``PK``/``SK``; two overloaded GSIs serve the other patterns.
``kind`` is PynamoDB's discriminator, so a query returns typed items.

Access patterns (no Scan on any request path):

| # | pattern                               | key condition                                                      |
|---|---------------------------------------|--------------------------------------------------------------------|
| 0 | the catalogue's current version       | PK = STATS, SK = CATALOGUE (the summary of pattern 14, consistent  |
|   | (the pointer readers follow)          | read; its ``catalogue_version`` names the live version)            |
| 1 | procedure by code                     | PK = PROCEDURE#<code>, SK = V#<version>                            |
| 2 | list/filter procedures (catalogue)    | GSI1: GSI1PK = CATALOGUE#PROCEDURE,                                |
|   |                                       | GSI1SK begins_with <version># (> cursor)                           |
|   |                                       | (level/tier/agency/q as filters on that small partition)           |
| 3 | agency by code                        | PK = AGENCY#<code>, SK = META                                      |
| 4 | list agencies                         | GSI1: GSI1PK = CATALOGUE#AGENCY                                    |
| 5 | dossier by code (+ its progress log)  | PK = DOSSIER#<code>; SK between DETAILS and SLIP$: DETAILS (the   |
|   |                                       | applicant, form, documents, fee exemption, the route as submitted: |
|   |                                       | written at submission,                                             |
|   |                                       | then by a supplement only), LOG#..., META (the rest: small, every  |
|   |                                       | change rewrites it). Dossiers stored before DETAILS existed hold   |
|   |                                       | all on META                                                        |
| 6 | a citizen's dossiers, newest first    | GSI1: GSI1PK = OWNER#<sub>, GSI1SK = SUBMITTED#<iso>#<code>, desc  |
| 7 | an agency's dossiers, newest first    | GSI2: GSI2PK = AGENCY#<code>#DOSSIERS, GSI2SK = SUBMITTED#<iso>...  |
| 8 | next dossier number of an agency-day  | PK = COUNTER#<agency>#<YYMMDD>, SK = COUNTER (optimistic lock)     |
| 9 | upload by id                          | PK = UPLOAD#<id>, SK = META (TTL: expires_at until attached)       |
| 10| task by id                            | PK = TASK#<id>, SK = META                                          |
| 11| an agency's inbox by status, by due   | GSI1: GSI1PK = AGENCY#<code>#TASKS#<status>, GSI1SK = <due>#<id>   |
|   | (+ the page's dossiers)               | (then pattern 5 per task: the contract's inbox shows each in full) |
|11b| an agency's open tasks past their     | the same, GSI1SK <= <now>#~ (due in UTC): the overdue sweep, one   |
|   | deadline (the overdue sweep)          | Query per agency whatever the number of dossiers                   |
| 5e| where a dossier is now (tracking)     | PK = DOSSIER#<code>, SK = META: its ``open_tasks``, written by the |
|   |                                       | transactions that open and close tasks (pattern 12 for older ones) |
| 12| a dossier's tasks, by step            | GSI2: GSI2PK = DOSSIER#<code>#TASKS, GSI2SK = <step>#<role>#<id>   |
| 13| a dossier's wait on the citizen/fee   | PK = DOSSIER#<code>, SK = WAIT#<kind> (holds the callback token)   |
| 5b| a dossier's slips (01-04)             | PK = DOSSIER#<code>, SK begins_with SLIP# (same query as pattern 5)|
| 5c| a dossier's audit trail (staff reads, | PK = DOSSIER#<code>, SK begins_with AUDIT# (AUDIT#<sequence>; the  |
|   | hash-chained; last line: desc, limit 1| last line: the same query descending, limit 1)                     |
|   | result downloads)                     |                                                                    |
| 17| an agency's staff reads of one day   | PK = READS#<agency>#<YYYY-MM-DD UTC>, SK = <at iso>#<read id>: the |
|   | (inbox pages, decisions, webhooks)    | dossiers one answer showed; the stream puts a line on each one's   |
|   |                                       | trail (5c). Kept: they are the record of the read as it was served |
| 15| a caller's uses of an action in one  | PK = RATE#<action>#<caller>, SK = W#<window start, epoch s> (TTL)  |
|   | window (rate limits)                  | one conditional ADD per use                                        |
| 14| statistics: catalogue summary and   | PK = STATS; SK = CATALOGUE, SK = MONTH#<YYYY-MM>#AGENCY#<code>#<shard>|
|   | agency-month counters (GET /stats)    | (one Query: rows grow with months x agencies, never with dossiers) |
| 10 | agency API key by key id             | PK = AGENCYKEY#<key id>, SK = META (``store/agency_keys.py``)      |
| 11 | an agency's API keys, oldest first   | GSI1: GSI1PK = AGENCY#<code>#KEYS, GSI1SK = <created iso>#<key id> |
| 16 | a queue message already handled      | PK = IDEMPOTENCY#<kind>, SK = <kind>#<sha256 of body> (TTL, Powertools)|

Versioned catalogue (patterns 0-2). Procedures are written per catalogue version, and
readers first read the pointer (pattern 0), then the items of that version only, so no
reader ever sees a half-loaded catalogue, whatever its size:

1. the new version's procedure items are written (batches, or with the pointer in one
   transaction when everything fits in 100 items: ``Store.put_catalogue``); readers do not
   see them, the pointer still names the old version;
2. the loader waits until GSI1 lists every new item (the index is eventually consistent),
   then flips the pointer in one small transaction (the summary item, conditional on the
   version it read, so two loaders cannot both win);
3. the items of every version but the new one and the one it replaced are deleted (older ones,
   and leftovers of a load that died before its flip). Containers remember the pointer for
   ``MOTCUA_CATALOGUE_CACHE_SECONDS`` (``store/catalogue_cache.py``), so the replaced version
   stays readable until the next load; a reader that finds nothing under a remembered version
   reads the pointer again. A cursor of an old version is moved onto the live one at the same code.

An unchanged catalogue (same content digest on the pointer) writes nothing. Agencies are
not versioned (PK = AGENCY#<code>, SK = META): an agency is valid on its own and loads only
add or update them, so a reader seeing a new agency before the procedures naming it is
harmless. A table loaded before versions existed has items at SK = META with no version and
no pointer version; readers use them until the first versioned load deletes them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import base as _pynamodb_connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.integrations import aws

if TYPE_CHECKING:
    from botocore.session import Session
    from pynamodb.connection import TableConnection


def _shared_session(env_vars: dict[str, tuple[Any, Any, Any, Any]] | None = None) -> Session:
    return aws.session()


# PynamoDB asks this module-level function for a new botocore session per connection and thread;
# handing it the process's one session lets the DynamoDB client share the endpoint data that the
# other clients (S3, Step Functions...) load, instead of loading it again (see integrations/aws.py).
_pynamodb_connection.get_session = _shared_session  # type: ignore[attr-defined]  # imported there, not exported

META = "META"
CATALOGUE_PROCEDURES = "CATALOGUE#PROCEDURE"
CATALOGUE_AGENCIES = "CATALOGUE#AGENCY"


def procedure_pk(code: str) -> str:
    return f"PROCEDURE#{code}"


def procedure_sk(version: str | None) -> str:
    """A procedure item's sort key in a catalogue version (META before versions existed)."""
    return META if version is None else f"V#{version}"


def procedure_gsi1sk(version: str | None, code: str) -> str:
    return code if version is None else f"{version}#{code}"


def agency_pk(code: str) -> str:
    return f"AGENCY#{code}"


def dossier_pk(code: str) -> str:
    return f"DOSSIER#{code}"


# The dossier's bulky, rarely changed part (pattern 5): DETAILS < LOG# < META, one query reads both.
DETAILS_SK = "DETAILS"


def log_sk(at_iso: str, sequence: int) -> str:
    # The sequence keeps two entries written in the same microsecond ordered.
    return f"LOG#{at_iso}#{sequence:04d}"


LOG_PREFIX = "LOG#"


def owner_pk(owner: str) -> str:
    return f"OWNER#{owner}"


def agency_dossiers_pk(agency_code: str) -> str:
    return f"AGENCY#{agency_code}#DOSSIERS"


def submitted_sk(submitted_iso: str, code: str) -> str:
    return f"SUBMITTED#{submitted_iso}#{code}"


def counter_pk(agency_code: str, yymmdd: str) -> str:
    return f"COUNTER#{agency_code}#{yymmdd}"


COUNTER_SK = "COUNTER"


def upload_pk(upload_id: str) -> str:
    return f"UPLOAD#{upload_id}"


def task_pk(task_id: str) -> str:
    return f"TASK#{task_id}"


def agency_inbox_pk(agency_code: str, status: str) -> str:
    return f"AGENCY#{agency_code}#TASKS#{status}"


def inbox_sk(due_at: datetime, task_id: str) -> str:
    # In UTC, so that the partition sorts by time whatever zone the deadline was computed in (the
    # overdue sweep reads it up to now). Tasks stored before kept their deadline's own offset.
    return f"{due_at.astimezone(UTC).isoformat()}#{task_id}"


def dossier_tasks_pk(dossier_code: str) -> str:
    return f"DOSSIER#{dossier_code}#TASKS"


def dossier_task_sk(step_index: int, role: str, task_id: str) -> str:
    return f"{step_index:03d}#{role}#{task_id}"


def slip_sk(number: int, issued_iso: str, nonce: str) -> str:
    # The nonce keeps two slips issued in the same microsecond apart: a slip is never overwritten.
    return f"SLIP#{number:02d}#{issued_iso}#{nonce}"


def audit_sk(sequence: int) -> str:
    # By sequence: the chain's order is the key's order, and a line is written only if its
    # number is free (two concurrent reads cannot both take it: the loser re-reads the chain).
    return f"AUDIT#{sequence:010d}"


AUDIT_PREFIX = "AUDIT#"


def staff_reads_pk(agency_code: str, at: datetime) -> str:
    # One partition per agency and day: an agency's reads of a day can be listed, and no partition
    # grows without end.
    return f"READS#{agency_code}#{at.astimezone(UTC):%Y-%m-%d}"


def staff_read_sk(at: datetime, read_id: str) -> str:
    return f"{at.astimezone(UTC).isoformat()}#{read_id}"


def wait_sk(kind: str) -> str:
    return f"WAIT#{kind}"


def rate_pk(action: str, caller: str) -> str:
    return f"RATE#{action}#{caller}"


def rate_sk(window_start: int) -> str:
    return f"W#{window_start}"


def idempotency_pk(kind: str) -> str:
    """Powertools Idempotency's partition for one kind of queue message (store/idempotency.py);
    Powertools writes the sort key itself: ``<kind>#<sha256 of the body>``."""
    return f"IDEMPOTENCY#{kind}"


STATS_PK = "STATS"
STATS_CATALOGUE_SK = "CATALOGUE"
STATS_MONTH_PREFIX = "MONTH#"


def stats_counter_sk(month: str, agency_code: str, shard: int) -> str:
    return f"{STATS_MONTH_PREFIX}{month}#AGENCY#{agency_code}#{shard}"


class GSI1(GlobalSecondaryIndex["TableItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class GSI2(GlobalSecondaryIndex["TableItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class TableItem(Model):
    class Meta:
        table_name = "unbound"  # set by bind_table() from settings
        region = "ap-southeast-1"

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    kind = DiscriminatorAttribute(attr_name="kind")
    gsi1pk = UnicodeAttribute(null=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(null=True, attr_name="GSI1SK")
    gsi2pk = UnicodeAttribute(null=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(null=True, attr_name="GSI2SK")

    gsi1 = GSI1()
    gsi2 = GSI2()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # Every item class shares this base class's connection (same table, same keys and
        # indexes): PynamoDB would otherwise build one per class used, each with its own botocore
        # session and client, ~100 ms and several MiB apiece on a cold start.
        if cls is not TableItem:
            return TableItem._get_connection()
        return super()._get_connection()


class ProcedureItem(TableItem, discriminator="procedure"):
    code = UnicodeAttribute()
    catalogue_version = UnicodeAttribute(null=True)  # None: written before versions existed
    tier = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    level = NumberAttribute()
    search_text = UnicodeAttribute()  # folded name + code, for diacritics-insensitive q
    body = JSONAttribute()  # the whole procedure as catalogue.procedure_to_dict gives it


class AgencyItem(TableItem, discriminator="agency"):
    code = UnicodeAttribute()
    body = JSONAttribute()


class DocumentRefMap(MapAttribute[str, Any]):
    document_id = UnicodeAttribute()
    upload_id = UnicodeAttribute()


class DossierDetailsItem(TableItem, discriminator="dossier_details"):
    """What a dossier's applicant filed (SK = DETAILS): ~3-4 KB that only a supplement changes,
    kept off the META item because DynamoDB bills a write by the item's size (twice in a
    transaction, again per GSI copy) and every change of the dossier rewrites META. No GSI key."""

    applicant = JSONAttribute()
    form = JSONAttribute()
    documents = ListAttribute(of=DocumentRefMap)
    # The fee exemption the applicant claimed: {category, name, legal_basis} as the catalogue said.
    fee_exemption = JSONAttribute(null=True)
    # The procedure's route and processing time when the dossier was submitted (steps as in procedures.json).
    route = JSONAttribute(null=True)
    processing_days = NumberAttribute(null=True)


class DossierItem(TableItem, discriminator="dossier"):
    code = UnicodeAttribute()
    procedure_code = UnicodeAttribute()
    procedure_name = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    owner = UnicodeAttribute()
    # Only on dossiers stored before DossierDetailsItem existed (and until a supplement moves them
    # there); a DETAILS item, when present, is what the dossier holds.
    applicant = JSONAttribute(null=True)
    form = JSONAttribute(null=True)
    documents = ListAttribute(of=DocumentRefMap, null=True)
    status = NumberAttribute()
    submitted_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute(null=True)
    due_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    fee_vnd = NumberAttribute()
    fee_status = UnicodeAttribute()
    overdue = BooleanAttribute(default=False)
    # The result document (an UploadItem of the last step's agency), set with the final approval.
    result_upload_id = UnicodeAttribute(null=True)
    result_s3_key = UnicodeAttribute(null=True)
    result_filename = UnicodeAttribute(null=True)
    result_content_type = UnicodeAttribute(null=True)
    fee_exemption = JSONAttribute(null=True)  # as applicant/form/documents: DETAILS holds it now
    rating_score = NumberAttribute(null=True)
    rating_comment = UnicodeAttribute(null=True)
    rated_at = UTCDateTimeAttribute(null=True)
    # The tasks open on the dossier ([[task_id, step_index, kind, agency_code, due_at]]; objects with
    # those keys when written before this item had to stay under 1 KB), written in the transactions
    # that open and close them: public tracking reads this item only. Absent on dossiers stored
    # before it existed (tracking then reads pattern 12).
    open_tasks = JSONAttribute(null=True)
    version = VersionAttribute()


class LogItem(TableItem, discriminator="log"):
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = NumberAttribute(null=True)
    to_status = NumberAttribute()
    note = UnicodeAttribute(default="")


class TaskItem(TableItem, discriminator="task"):
    task_id = UnicodeAttribute()
    dossier_code = UnicodeAttribute()
    step_index = NumberAttribute()
    task_kind = UnicodeAttribute()
    role = UnicodeAttribute()
    agency_code = UnicodeAttribute()
    status = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    due_at = UTCDateTimeAttribute()
    last_step = BooleanAttribute(default=False)
    token = UnicodeAttribute(null=True)
    overdue_count = NumberAttribute(default=0)
    decision = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    note = UnicodeAttribute(default="")
    decided_at = UTCDateTimeAttribute(null=True)
    helpers = NumberAttribute(null=True)  # a lead task's parallel agencies (absent: not recorded)


class WaitItem(TableItem, discriminator="wait"):
    """A callback token the route waits on for the citizen (supplement) or the fee."""

    wait_kind = UnicodeAttribute()
    token = UnicodeAttribute()
    step_index = NumberAttribute()
    step_kind = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()


class SlipItem(TableItem, discriminator="slip"):
    number = NumberAttribute()
    issued_at = UTCDateTimeAttribute()
    issued_by = UnicodeAttribute()
    details = JSONAttribute()


class AuditItem(TableItem, discriminator="audit"):
    """A staff read of a dossier (Decree 13/2023: who saw personal data, when), or a result
    download by its owner (``agency_code`` "citizen", ``key_id`` the citizen's sub). Append-only
    and hash-chained per dossier (domain/audit.py)."""

    at = UTCDateTimeAttribute()
    agency_code = UnicodeAttribute()
    key_id = UnicodeAttribute()
    action = UnicodeAttribute()
    sequence = NumberAttribute()
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()
    read_id = UnicodeAttribute(null=True)  # the staff read (pattern 17) it came from, if any


class StaffReadItem(TableItem, discriminator="staffread"):
    """Dossiers shown to an agency in one answer (domain/audit.py ``StaffRead``); its INSERT on the
    table's stream puts a line on each dossier's audit trail."""

    read_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    agency_code = UnicodeAttribute()
    key_id = UnicodeAttribute()
    action = UnicodeAttribute()
    dossier_codes = ListAttribute(of=UnicodeAttribute)


class CounterItem(TableItem, discriminator="counter"):
    last_sequence = NumberAttribute()


class RateItem(TableItem, discriminator="rate"):
    """How often a caller did an action in one fixed window (rate limits); TTL removes it."""

    hits = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class CatalogueStatsItem(TableItem, discriminator="catalogue_stats"):
    """Procedures per tier and level, and the agency directory; written with the catalogue.
    Also the catalogue's pointer: ``catalogue_version`` names the live version (pattern 0)."""

    body = JSONAttribute()
    catalogue_version = UnicodeAttribute(null=True)
    digest = UnicodeAttribute(null=True)  # SHA-256 of the live version's content: same digest, no load


class StatsCounterItem(TableItem, discriminator="stats_counter"):
    """One receiving agency's counters for one month, kept by ADD updates in the transactions
    that change dossiers (an ADD creates the item). One attribute per domain/stats.py COUNTERS
    name; an absent counter is 0."""

    agency_code = UnicodeAttribute(null=True)
    month = UnicodeAttribute(null=True)
    submitted = NumberAttribute(null=True)
    online = NumberAttribute(null=True)
    received = NumberAttribute(null=True)
    not_received = NumberAttribute(null=True)
    done = NumberAttribute(null=True)
    approved = NumberAttribute(null=True)
    rejected = NumberAttribute(null=True)
    on_time = NumberAttribute(null=True)
    late = NumberAttribute(null=True)
    overdue = NumberAttribute(null=True)
    finished = NumberAttribute(null=True)
    fee_due = NumberAttribute(null=True)
    paid_online = NumberAttribute(null=True)
    electronic_result = NumberAttribute(null=True)
    returned = NumberAttribute(null=True)
    ratings = NumberAttribute(null=True)
    rating_sum = NumberAttribute(null=True)
    satisfied = NumberAttribute(null=True)


class UploadItem(TableItem, discriminator="upload"):
    upload_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    s3_key = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    attached = BooleanAttribute(default=False)
    dossier_code = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # epoch seconds: DynamoDB TTL for never-attached uploads
    # The object's size as S3 reported it (its ObjectCreated event, or a HeadObject when a submission
    # found it missing): a submission's transaction checks it against ``size`` instead of asking S3.
    stored_size = NumberAttribute(null=True)
    stored_etag = UnicodeAttribute(null=True)  # S3's ETag of the object then, quotes removed


class BoundStore:
    """A repository over the deployment's table; binds the models when built and when used."""

    def __init__(self, table_name: str, region: str) -> None:
        self._table_name = table_name
        self._region = region
        self.bind()

    def bind(self) -> None:
        """Points the models at this store's table (a no-op unless another store was used)."""
        bind_table(self._table_name, self._region)


def bind_table(table_name: str, region: str) -> None:
    """Points every model at the deployment's table (names are known only at run time)."""
    if TableItem.Meta.table_name == table_name and TableItem.Meta.region == region:
        return
    TableItem.Meta.table_name = table_name
    TableItem.Meta.region = region
    # PynamoDB caches a connection per class, bound to the old table; item classes
    # defined in other store modules are subclasses too.
    pending: list[type[TableItem]] = [TableItem]
    while pending:
        model = pending.pop()
        model._connection = None
        pending.extend(model.__subclasses__())
