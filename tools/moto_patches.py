"""Patches to moto where it falls short of AWS in ways the app relies on.

Thread safety: moto's DynamoDB backend is not thread-safe: a transaction deep-copies whole tables
to roll back, and restoring that copy after a cancelled transaction would undo
writes that other threads made meanwhile. Real DynamoDB serialises conflicting
writes; one lock around every DynamoDB call gives the local stack (and threaded
tests) the same guarantee (``serialize_dynamodb``).

Transaction cost: that whole-table deep copy makes every TransactWriteItems, committed or not,
cost time in proportion to the table (about 1,000 dossiers on the local stack took the server
past botocore's 60 s read timeout). Under the lock nothing else writes during a transaction, so
``serialize_dynamodb`` also makes moto copy only the items the transaction names and put those
back if it is cancelled (``_undo_log_transactions``): the same all-or-nothing, in constant time.

State machine parses: moto parses a state machine's ASL definition with ANTLR at every
StartExecution, twice (about 0.1-0.2 s of CPU each for the route): with 1,000 dossiers submitted at
once that was nearly all of the local stack's CPU. ``cache_asl_parses`` keeps each definition's
parse tree and builds a fresh program from it for each execution (``serialize_dynamodb`` applies
it, being what the local stack and tests/conftest.py call before starting moto).

POST tagging: S3 stores a POST upload's ``tagging`` form field as the object's tags;
moto drops it (``apply_post_tagging``).

Task failure causes: Step Functions hands a SendTaskFailure's ``cause`` to the failed state's Catch
(``{"Error", "Cause"}``); moto 5.2.5's SendTaskFailure drops it (Cause null). The route reads a
schedule's rarer answers back from that Cause (``keep_task_failure_cause``, applied by
``serialize_dynamodb`` too).

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
    _undo_log_transactions()
    cache_asl_parses()
    keep_task_failure_cause()
    _applied = True


_failure_cause_applied = False


def keep_task_failure_cause() -> None:
    """SendTaskFailure passes its ``cause`` on to the executing state machine, as in AWS."""
    global _failure_cause_applied
    if _failure_cause_applied:
        return
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure

    def send_task_failure(self: Any) -> Any:
        backend = self.stepfunction_backend
        if not isinstance(backend, StepFunctionsParserBackend):  # executions off: nothing to tell
            return original(self)
        backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                  cause=self._get_param("cause"))
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
    _failure_cause_applied = True


_asl_cache_applied = False


def cache_asl_parses() -> None:
    """moto's ASL parser keeps each definition's ANTLR parse tree (read only once built) and
    turns it into a new program for every call, as before; a definition with syntax errors is
    parsed, and refused, every time."""
    global _asl_cache_applied
    if _asl_cache_applied:
        return
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.parse
    trees: dict[str, Any] = {}
    guard = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        with guard:
            tree = trees.get(definition)
        if tree is None:
            program, tree = original(definition)  # raises on syntax errors: nothing cached
            with guard:
                if len(trees) > 256:
                    trees.clear()
                trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    _asl_cache_applied = True


def _undo_log_transactions() -> None:
    """TransactWriteItems rolls back through copies of the items it names, not of whole tables.

    Only sound while ``serialize_dynamodb``'s lock keeps every other call out of the transaction.
    moto 5.2.5's ``transact_write_items`` deep-copies each table it touches before writing and
    assigns the copy back if anything fails; here that copy is the table itself (no copy), and
    the wrapper restores each named item as it was before (or removes it if it did not exist).
    """
    import copy
    import types

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        # The module deep-copies a Table only to roll a transaction back (the wrapper does that).
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[assignment,attr-defined]

    original = DynamoDBBackend.transact_write_items

    def key_of(table: Table, op_type: str, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            return None  # moto refuses the transaction before writing anything
        range_attr = table.range_key_attr
        if range_attr is not None and range_attr not in attrs:
            return None
        return DynamoType(attrs[table.hash_key_attr]), DynamoType(attrs[range_attr]) if range_attr else None

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
                key = key_of(table, op_type, op) if table is not None else None
                if table is None or key is None:
                    continue
                hash_value, range_value = key
                current = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, before in reversed(saved):
                if range_value is None:
                    if before is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = before
                elif before is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


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
