"""An agency's webhook signing secrets over time: the document, which ones sign, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.domain.webhook_secrets import (
    SigningSecret,
    current,
    from_document,
    prune,
    rotate,
    signing_secrets,
    to_document,
)

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_document_round_trip_in_utc() -> None:
    vietnam = timezone(timedelta(hours=7))
    secrets = (SigningSecret("whsec_a", T0.astimezone(vietnam), T0 + 24 * HOUR), SigningSecret("whsec_b", T0))
    document = to_document(secrets)
    assert document == {"secrets": [
        {"secret": "whsec_a", "created_at": "2026-11-26T02:00:00+00:00", "retire_at": "2026-11-27T02:00:00+00:00"},
        {"secret": "whsec_b", "created_at": "2026-11-26T02:00:00+00:00", "retire_at": None}]}
    assert from_document(document) == secrets
    assert from_document({"secrets": [{"secret": "whsec_z", "created_at": "2026-11-26T02:00:00Z"}]}) == (
        SigningSecret("whsec_z", T0),)


@pytest.mark.parametrize("document", [
    None, [], {}, {"secrets": {}}, {"secrets": [{}]}, {"secrets": [{"secret": ""}]},
    {"secrets": [{"secret": "whsec_a"}]},
    {"secrets": [{"secret": "whsec_a", "created_at": "2026-11-26T02:00:00"}]},  # no time zone
    {"secrets": [{"secret": "whsec_a", "created_at": "yesterday"}]},
    {"secrets": [{"secret": "whsec_a", "created_at": "2026-11-26T02:00:00Z", "retire_at": 5}]},
])
def test_malformed_documents_are_refused(document: object) -> None:
    with pytest.raises(ValueError):
        from_document(document)


def test_every_secret_not_yet_retired_signs_newest_first() -> None:
    secrets = (SigningSecret("whsec_old", T0, T0 + 2 * HOUR), SigningSecret("whsec_new", T0 + HOUR))
    assert signing_secrets(secrets, T0 + HOUR) == ["whsec_new", "whsec_old"]
    assert signing_secrets(secrets, T0 + 2 * HOUR - timedelta(seconds=1)) == ["whsec_new", "whsec_old"]
    assert signing_secrets(secrets, T0 + 2 * HOUR) == ["whsec_new"]  # retire_at is the first moment it is off
    assert current(secrets, T0 + HOUR) == secrets[1]
    assert prune(secrets, T0 + 3 * HOUR) == (secrets[1],)
    assert signing_secrets((), T0) == [] and current((), T0) is None


def test_rotation_retires_the_old_secret_after_the_grace_and_drops_those_already_retired() -> None:
    first = rotate((), "whsec_1", T0, 24 * HOUR)
    assert first == (SigningSecret("whsec_1", T0),)
    second = rotate(first, "whsec_2", T0 + HOUR, 24 * HOUR)
    assert second == (SigningSecret("whsec_1", T0, T0 + 25 * HOUR), SigningSecret("whsec_2", T0 + HOUR))
    # A quick second rotation: a secret already retiring keeps its earlier date; the new grace can shorten it.
    third = rotate(second, "whsec_3", T0 + 2 * HOUR, 48 * HOUR)
    assert [(s.secret, s.retire_at) for s in third] == [
        ("whsec_1", T0 + 25 * HOUR), ("whsec_2", T0 + 50 * HOUR), ("whsec_3", None)]
    assert signing_secrets(third, T0 + 2 * HOUR) == ["whsec_3", "whsec_2", "whsec_1"]
    # The next rotation after whsec_1's date drops it from the stored set.
    fourth = rotate(third, "whsec_4", T0 + 26 * HOUR, 0 * HOUR)
    assert [s.secret for s in fourth] == ["whsec_4"]  # grace 0: the others stop at once (a leaked secret)


def test_rotation_refuses_nonsense() -> None:
    secrets = (SigningSecret("whsec_1", T0),)
    for grace in (-HOUR, timedelta(days=31)):
        with pytest.raises(ValueError, match="grace period"):
            rotate(secrets, "whsec_2", T0, grace)
    with pytest.raises(ValueError, match="already in use"):
        rotate(secrets, "whsec_1", T0, HOUR)
    with pytest.raises(ValueError, match="timezone-aware"):
        rotate(secrets, "whsec_2", datetime(2026, 11, 26), HOUR)
