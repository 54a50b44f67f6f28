"""The benchmark harness's pure parts: DynamoDB sizing, cost arithmetic, the call counter, tables.
No timings are asserted here; ``python -m bench`` measures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bench import calls, cost
from bench.common import Call, CallCounter, Table, format_table, median, write_results


def test_item_size_follows_dynamodb_rules() -> None:
    assert cost.item_size({"pk": {"S": "abc"}}) == 5
    assert cost.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits → 3 bytes + 1
    assert cost.item_size({"ok": {"BOOL": True}, "m": {"M": {"a": {"S": "xy"}}}}) == (2 + 1) + (1 + 3 + 1 + 1 + 2)
    assert cost.item_size({"v": {"S": "Đ"}}) == 1 + 2  # UTF-8 bytes, not characters


def test_request_units_round_up_and_double_in_transactions() -> None:
    assert cost.read_units(0, consistent=False) == 0.5
    assert cost.read_units(4097, consistent=True) == 2
    assert cost.write_units(1025) == 2
    assert cost.write_units(10, transactional=True) == 2


def test_dynamodb_units_of_calls() -> None:
    get = Call("dynamodb", "GetItem", 1, {"ConsistentRead": True}, {"Item": {"pk": {"S": "x" * 5000}}})
    assert cost.dynamodb_units(get, []) == cost.Units(rru=2)
    put = Call("dynamodb", "PutItem", 1, {"Item": {"pk": {"S": "a"}, "g": {"S": "b"}}}, {},
               items_after=[{"pk": {"S": "a"}, "g": {"S": "b"}}], items_before=[{}])
    gsi = [{"name": "gsi1", "keys": ["g"], "projection": "ALL"}]
    assert cost.dynamodb_units(put, gsi) == cost.Units(wru=2)  # the table and its index
    transact = Call("dynamodb", "TransactWriteItems", 1, {}, {}, items_after=[{"pk": {"S": "a"}}] * 2,
                    items_before=[{}, {}])
    assert cost.dynamodb_units(transact, []) == cost.Units(wru=4)
    # A condition check writes nothing to the index: only its transactional unit is counted.
    indexed = {"pk": {"S": "a"}, "g": {"S": "b"}}
    checked = Call("dynamodb", "TransactWriteItems", 1,
                   {"TransactItems": [{"Put": {"Item": indexed}}, {"ConditionCheck": {"Key": {"pk": {"S": "k"}}}}]},
                   {}, items_after=[indexed, indexed], items_before=[{}, indexed])
    assert cost.dynamodb_units(checked, gsi) == cost.Units(wru=2 + 1 + 2)


def _calls_results(seconds: float = 0.1) -> dict[str, object]:
    op = {"seconds": seconds, "rru": 1.0, "wru": 0.0, "by_operation": {"dynamodb:GetItem": 1}}
    return {"operations": {name: {"warm": op} for name in cost.JOURNEY},
            "background": {"workers": {"task worker": [{"seconds": seconds, "rru": 1.0, "wru": 2.0,
                                                         "by_operation": {"sqs:SendMessage": 1}}]},
                           "state_machine": {"rru": 0.0, "wru": 0.0, "by_operation": {"sqs:SendMessage": 2}}},
            "transitions": {"transitions": 10}}


def test_cost_arithmetic() -> None:
    memory = {"api_handler": 1024, "on_task_message": 512, "on_webhook_message": 256}
    usage = cost.usage_per_dossier(_calls_results(), memory)
    requests = sum(cost.JOURNEY.values())
    assert usage.api_requests == requests
    assert usage.lambda_requests == requests + 1
    assert usage.lambda_gb_seconds == pytest.approx(requests * 0.1 + 0.5 * 0.1)
    assert usage.sqs_requests == 1 + cost.SQS_CONSUME_REQUESTS_PER_MESSAGE + 2
    assert usage.transitions == 10
    per_million = cost.cost_per_million(usage)
    assert per_million["Step Functions"] == pytest.approx(10 * 1e6 * 0.025 / 1000)
    assert per_million["API Gateway"] == pytest.approx(requests * 3.50)


def test_the_target_is_checked_against_the_platform_and_the_messages_are_priced_beside_it() -> None:
    results = _calls_results()
    results["background"]["workers"]["stream worker"] = [  # type: ignore[index]
        {"seconds": 0.1, "rru": 0.0, "wru": 0.0, "by_operation": {"email:SendEmail": 1}}] * 2
    data = cost.price(results).data
    assert data["messages_per_million_usd"] == pytest.approx(2 * 1e6 * 0.10 / 1000)
    assert data["platform_per_million_usd"] == pytest.approx(
        sum(v for k, v in data["per_million_usd"].items() if k != "SES email"))
    assert data["total_per_million_usd"] == pytest.approx(data["platform_per_million_usd"] + 200.0)
    assert data["pass"] is (data["platform_per_million_usd"] <= cost.TARGET_PER_MILLION)


def test_the_stream_workers_records_are_lambda_invocations_without_sqs() -> None:
    results = _calls_results()
    results["background"]["workers"]["stream worker"] = [  # type: ignore[index]
        {"seconds": 0.2, "rru": 2.0, "wru": 2.0, "by_operation": {"email:SendEmail": 1, "sns:Publish": 1}},
        {"seconds": 0.1, "rru": 0.0, "wru": 0.0, "by_operation": {"s3:PutObjectTagging": 1}},
    ]
    memory = {"api_handler": 1024, "on_task_message": 512, "on_webhook_message": 256, "on_table_record": 256}
    without = cost.usage_per_dossier(_calls_results(), memory)
    usage = cost.usage_per_dossier(results, memory)
    assert usage.lambda_requests == without.lambda_requests + 2
    assert usage.lambda_gb_seconds == pytest.approx(without.lambda_gb_seconds + 0.25 * 0.3)
    assert usage.sqs_requests == without.sqs_requests
    assert (usage.emails, usage.sms) == (without.emails + 1, without.sms + 1)
    assert usage.s3_puts == without.s3_puts + 1


def test_price_table_says_what_is_confirmed() -> None:
    for price in cost.PRICES.values():
        assert price.source and (price.confirmed or price.note)
    assert cost.PRICES["step_functions_transition"].confirmed


def test_counter_counts_sent_calls_not_presigning() -> None:
    counter = CallCounter()
    counter.install()
    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
            s3.create_bucket(Bucket="bench-bucket")
            s3.put_object(Bucket="bench-bucket", Key="k", Body=b"abcd")
            with counter.window() as seen:
                s3.generate_presigned_url("get_object", Params={"Bucket": "bench-bucket", "Key": "k"})
                s3.generate_presigned_post("bench-bucket", "k")
                s3.head_object(Bucket="bench-bucket", Key="k")
    finally:
        counter.uninstall()
    assert [c.name for c in seen] == ["s3:HeadObject"]
    assert seen[0].params == {"Bucket": "bench-bucket", "Key": "k"}


def test_floors_and_categories() -> None:
    submit = calls.FLOORS["submit: POST /dossiers"]
    assert submit.holds(Counter({"transaction": 1, "start": 1}))
    assert not submit.holds(Counter({"transaction": 1, "start": 1, "read": 1}))
    assert calls.category(Call("states", "SendTaskSuccess", 1, {})) == "callback"
    assert calls.category(Call("dynamodb", "Query", 1, {})) == "read"


def test_table_and_results(tmp_path: Path) -> None:
    text = format_table(Table("T", ["a", "b"], [[1, True], [2.5, False]], ["note"]))
    assert "| 1     | pass |" in text and "| 2.500 | FAIL |" in text and "- note" in text
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 4]) == 2.5
    path = tmp_path / "results.json"
    write_results({"a": {"x": 1}}, path=path)
    write_results({"b": {"y": 2}}, path=path)
    parts = json.loads(path.read_text(encoding="utf-8"))["parts"]
    assert parts == {"a": {"x": 1}, "b": {"y": 2}}
