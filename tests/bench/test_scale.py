"""The pure parts of bench/scale.py, and the bench-only moto patch giving the same answers as moto
(no timings asserted: the benchmark reports them, the reader judges)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.scale import (
    PARTITION_READS,
    install_partition_reads,
    partition_reads,
    percentile,
    ratio,
    relative_to_baseline,
    summary_ms,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 90) == pytest.approx(9.1)
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 9.0], 0) == 1.0 and percentile([1.0, 9.0], 100) == 9.0


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_and_ratios() -> None:
    summary = summary_ms([0.010, 0.020, 0.030])
    assert summary == {"p50_ms": 20.0, "p90_ms": 28.0, "min_ms": 10.0, "n": 3}
    assert ratio(12.0, 10.0) == 1.2
    assert ratio(1.0, 0.0) == float("inf")
    assert relative_to_baseline(10.0, 10.0) == 1.0
    assert relative_to_baseline(2.0, 1.0) == 2.0


def create_sample_table(client: Any) -> None:
    """Table "t": PK/SK keys and a GSI1 on G/GS, as the app's table (strings only)."""
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "G", "GS")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"},
                                               {"AttributeName": "GS", "KeyType": "RANGE"}]}])


def test_partition_reads_give_moto_s_own_answers(aws_env: None) -> None:
    import boto3
    from moto import mock_aws

    install_partition_reads()
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="ap-southeast-1")
        create_sample_table(client)
        for n in range(60):
            client.put_item(TableName="t", Item={"PK": {"S": f"P{n % 7}"}, "SK": {"S": f"S{n:03d}"},
                                                 "G": {"S": f"G{n % 3}"}, "GS": {"S": f"{(n * 13) % 60:03d}"}})

        def answers() -> list[object]:
            table = client.query(TableName="t", KeyConditionExpression="PK = :p",
                                 ExpressionAttributeValues={":p": {"S": "P3"}}, ScanIndexForward=False)
            pages = []
            start: Any = None
            while True:
                extra = {"ExclusiveStartKey": start} if start else {}
                page = client.query(TableName="t", IndexName="GSI1", KeyConditionExpression="G = :g AND GS > :s",
                                    ExpressionAttributeValues={":g": {"S": "G1"}, ":s": {"S": "010"}}, Limit=4,
                                    **extra)
                pages.append(page["Items"])
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            return [table["Items"], pages]

        plain = answers()
        with partition_reads(True):
            patched = answers()
            before = PARTITION_READS.generation
            client.put_item(TableName="t", Item={"PK": {"S": "P3"}, "SK": {"S": "new"}, "G": {"S": "G1"},
                                                 "GS": {"S": "999"}})
            # An item write updates the partitions of the item it names, not the whole table's.
            assert PARTITION_READS.generation == before
            after_write = answers()
            # Items moved between index partitions, out of the index, deleted, in a transaction
            # and a batch: still moto's own answers.
            client.update_item(TableName="t", Key={"PK": {"S": "P3"}, "SK": {"S": "S003"}},
                               UpdateExpression="SET G = :g", ExpressionAttributeValues={":g": {"S": "G1"}})
            client.update_item(TableName="t", Key={"PK": {"S": "P3"}, "SK": {"S": "S010"}},
                               UpdateExpression="REMOVE GS")
            client.delete_item(TableName="t", Key={"PK": {"S": "P3"}, "SK": {"S": "S017"}})
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "P3"}, "SK": {"S": "tx"}, "G": {"S": "G1"},
                                                    "GS": {"S": "011"}}}},
                {"Delete": {"TableName": "t", "Key": {"PK": {"S": "P3"}, "SK": {"S": "S024"}}}}])
            client.batch_write_item(RequestItems={"t": [
                {"PutRequest": {"Item": {"PK": {"S": "P3"}, "SK": {"S": "batch"}, "G": {"S": "G1"},
                                         "GS": {"S": "012"}}}}]})
            assert PARTITION_READS.generation == before
            after_more = answers()
        assert patched == plain
        assert len(after_write[0]) == len(plain[0]) + 1  # type: ignore[arg-type]
        assert after_write[1][-1][-1]["GS"] == {"S": "999"}  # type: ignore[index]
        assert after_more == answers()  # moto as is


KEY_CONDITIONS = [
    ("G = :g", {}),
    ("G = :g AND GS = :a", {":a": {"S": "013"}}),
    ("G = :g AND GS < :a", {":a": {"S": "031"}}),
    ("G = :g AND GS <= :a", {":a": {"S": "031"}}),
    ("G = :g AND GS > :a", {":a": {"S": "013"}}),
    ("G = :g AND GS >= :a", {":a": {"S": "013"}}),
    ("G = :g AND GS BETWEEN :a AND :b", {":a": {"S": "012"}, ":b": {"S": "040"}}),
    ("G = :g AND begins_with(GS, :a)", {":a": {"S": "02"}}),
]


@pytest.mark.parametrize(("condition", "values"), KEY_CONDITIONS)
def test_partition_reads_page_like_moto(aws_env: None, condition: str, values: dict[str, Any]) -> None:
    """Every key condition, both directions, several page sizes and a filter: the same pages,
    LastEvaluatedKeys included, with the run picked by binary search as with moto's whole scan."""
    import boto3
    from moto import mock_aws

    install_partition_reads()
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="ap-southeast-1")
        create_sample_table(client)
        for n in range(90):  # equal index sort keys too: the table's keys break the ties
            client.put_item(TableName="t", Item={"PK": {"S": f"P{n % 7}"}, "SK": {"S": f"S{n:03d}"},
                                                 "G": {"S": f"G{n % 2}"}, "GS": {"S": f"{(n * 13) % 45:03d}"},
                                                 "N": {"N": str(n)}})

        def pages(**options: Any) -> list[object]:
            found: list[object] = []
            start: Any = None
            extra_values = options.pop("v", {})
            while True:
                extra = {"ExclusiveStartKey": start} if start else {}
                page = client.query(TableName="t", IndexName="GSI1", KeyConditionExpression=condition,
                                    ExpressionAttributeValues={":g": {"S": "G1"}, **values, **extra_values},
                                    **options, **extra)
                found.append((page["Items"], page.get("LastEvaluatedKey")))
                start = page.get("LastEvaluatedKey")
                if not start or len(found) > 100:
                    return found

        variants: list[dict[str, Any]] = [
            {**({"Limit": limit} if limit else {}), "ScanIndexForward": forward}
            for limit in (None, 1, 3, 10) for forward in (True, False)]
        variants.append({"Limit": 4, "FilterExpression": "N > :n", "v": {":n": {"N": "40"}}})
        plain = [pages(**dict(v)) for v in variants]
        with partition_reads(True):
            patched = [pages(**dict(v)) for v in variants]
        assert patched == plain
        assert any(len(p) > 1 for p in plain)  # some answers were paged
