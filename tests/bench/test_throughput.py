"""The pure parts of bench/throughput.py (no stack started, no timings asserted)."""

from __future__ import annotations

import pytest

from bench.throughput import CONFIRMATION, FORMS, MARRIAGE, _serialized_dossier, citizens_needed, rate, submission


def test_enough_citizens_for_the_hourly_limit() -> None:
    assert citizens_needed(300) == 15
    assert citizens_needed(301) == 16
    assert citizens_needed(1, per_citizen=30) == 1
    with pytest.raises(ValueError):
        citizens_needed(10, per_citizen=0)


def test_rate() -> None:
    assert rate(300, 60.0) == 5.0
    assert rate(5, 0.0) == 0.0


def test_submission_is_the_public_contract_shape() -> None:
    body = submission(MARRIAGE, "u-1", 7)
    assert set(body) == {"procedure_code", "applicant", "form", "documents"}
    assert body["documents"] == [{"document_id": "to_khai", "upload_id": "u-1"}]
    assert body["form"] == FORMS[MARRIAGE]
    assert submission(CONFIRMATION, "u", 7)["applicant"]["id_number"] == "068090000007"


def test_the_baseline_writes_a_dossier_item_as_the_store_builds_it() -> None:
    item = _serialized_dossier(3, 2)
    assert item["PK"] == {"S": "DOSSIER#BENCH.002-261126-000003"} and item["SK"] == {"S": "META"}
    assert item["kind"] == {"S": "dossier"} and item["version"] == {"N": "1"}
    assert item["GSI1PK"] == {"S": "OWNER#bench-2"}
