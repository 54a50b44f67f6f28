"""Agency API keys: format, parsing (junk of every kind refused, never raising), digest, verify."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

import pytest

from chalicelib.domain.agency_keys import (
    MAX_KEY_CHARS,
    IssuedKey,
    ParsedKey,
    StoredKey,
    agency_part,
    digest,
    generate_key,
    is_key_id,
    parse_key,
    verify,
)
from tests.factories import DESK, JUSTICE

KEY = re.compile(r"^mc_000-00-21-H38_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def sample_key() -> IssuedKey:
    return generate_key(DESK)


def with_secret(key: IssuedKey, secret: str) -> str:
    return key.plaintext[: -43] + secret


# --- format ---------------------------------------------------------------------------------


def test_key_embeds_the_agency_and_a_key_id(sample_key: IssuedKey) -> None:
    assert KEY.fullmatch(sample_key.plaintext), sample_key.plaintext
    assert sample_key.plaintext.split("_")[2] == sample_key.key_id
    assert len(sample_key.key_id) == 8
    assert sample_key.plaintext.isascii()


def test_secret_is_32_random_bytes(sample_key: IssuedKey) -> None:
    secret = sample_key.plaintext[-43:]
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32


def test_keys_are_unique() -> None:
    keys = [generate_key(DESK) for _ in range(200)]
    assert len({k.plaintext for k in keys}) == 200
    assert len({k.key_id for k in keys}) == 200  # 32-bit ids: a clash in 200 has odds of ~5e-6
    assert len({k.plaintext[-43:] for k in keys}) == 200


def test_agency_part_makes_dots_dashes() -> None:
    assert agency_part(DESK) == "000-00-21-H38"
    assert agency_part(JUSTICE) == "000-00-05-H38"


@pytest.mark.parametrize("code", ["", "000_00", "000 00", "Sở", "a/b", "x" * 65])
def test_generate_refuses_a_code_that_cannot_be_embedded(code: str) -> None:
    with pytest.raises(ValueError, match="cannot be embedded"):
        generate_key(code)


def test_repr_hides_the_plaintext(sample_key: IssuedKey) -> None:
    assert sample_key.plaintext not in repr(sample_key)
    assert sample_key.plaintext[-43:] not in str(sample_key)
    assert sample_key.key_id in repr(sample_key)


# --- parse ----------------------------------------------------------------------------------


def test_parse_round_trips(sample_key: IssuedKey) -> None:
    parsed = parse_key(sample_key.plaintext)
    assert parsed == ParsedKey(sample_key.key_id, sample_key.plaintext)
    key_id, plaintext = parsed
    assert (key_id, plaintext) == (sample_key.key_id, sample_key.plaintext)


def test_parse_reads_a_secret_full_of_dashes_and_underscores() -> None:
    # 32 bytes of 0xff encode as "_" 42 times then "w"; 0xfb… gives "-" runs.
    for raw in (b"\xff" * 32, b"\xfb\xef\xbe" * 10 + b"\xfb\xe0"):
        secret = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        text = f"mc_000-00-21-H38_0a1b2c3d_{secret}"
        assert parse_key(text) == ParsedKey("0a1b2c3d", text)


def junk(key: str) -> list[str]:
    prefix, agency, key_id, secret = "mc", "000-00-21-H38", key.split("_")[2], key[-43:]
    return [
        "",
        " ",
        "mc",
        "mc_",
        "mc___",
        "Bearer " + key,
        key + "\n",
        " " + key,
        key + " ",
        key + "=",
        key.upper(),
        key.replace("mc_", "MC_", 1),
        key.replace("mc_", "mk_", 1),
        key.replace("mc_", "sk_", 1),
        key[len("mc_"):],                                  # no prefix
        f"{prefix}-{agency}_{key_id}_{secret}",            # wrong separator
        f"{prefix}__{agency}_{key_id}_{secret}",           # extra underscores
        f"{prefix}_{agency}__{key_id}_{secret}",
        f"{prefix}_{agency}_{key_id}__{secret}",
        f"_{prefix}_{agency}_{key_id}_{secret}",
        f"{prefix}_{agency}_{key_id}_{secret}_",
        f"{prefix}_000_00_21_H38_{key_id}_{secret}",       # the agency code with underscores
        f"{prefix}_000.00.21.H38_{key_id}_{secret}",       # … or with its dots
        f"{prefix}__{key_id}_{secret}",                    # no agency
        f"{prefix}_{'A' * 65}_{key_id}_{secret}",          # agency too long
        f"{prefix}_{agency}_{key_id[:7]}_{secret}",        # key id too short
        f"{prefix}_{agency}_{key_id}0_{secret}",           # key id too long
        f"{prefix}_{agency}_{key_id[:-1]}g_{secret}",      # not hex
        f"{prefix}_{agency}_ABCDEF12_{secret}",
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}",       # secret too short
        f"{prefix}_{agency}_{key_id}_{secret}A",           # secret too long
        f"{prefix}_{agency}_{key_id}_{secret}==",          # padded
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}+",      # standard (not URL-safe) base64
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}/",
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}=",
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}B",      # non-canonical: last 2 bits set
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}é",      # non-ASCII
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}\u0661",  # an Arabic-Indic digit
        f"{prefix}_{agency}_{key_id[:-1]}\uff10_{secret}",  # a fullwidth digit in the key id
        f"{prefix}_Sở-Tư-pháp_{key_id}_{secret}",          # non-ASCII agency
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}\x00",
        f"{prefix}_{agency}_{key_id}_{secret[:-1]}\ud800",  # lone surrogate
        key + "x" * 10_000,
        "x" * (MAX_KEY_CHARS + 1),
        f"{prefix}_{agency}_{key_id}_{' ' * 43}",
    ]


def test_parse_rejects_junk_of_every_kind(sample_key: IssuedKey) -> None:
    for text in junk(sample_key.plaintext):
        assert parse_key(text) is None, repr(text)


@pytest.mark.parametrize("value", [None, 0, 1.5, b"mc_000-00-21-H38_0a1b2c3d_" + b"A" * 43, ["mc"], {}])
def test_parse_rejects_what_is_not_text(value: object) -> None:
    assert parse_key(value) is None


def test_is_key_id() -> None:
    assert is_key_id("0a1b2c3d")
    for text in ("", "0a1b2c3", "0a1b2c3d0", "0A1B2C3D", "0a1b2c3g", "0a1b2c3d\n", None, 12345678):
        assert not is_key_id(text), repr(text)


# --- digest and verify -------------------------------------------------------------------------


def test_digest_is_sha256_hex(sample_key: IssuedKey) -> None:
    assert digest("mc_x") == hashlib.sha256(b"mc_x").hexdigest()
    assert sample_key.digest == hashlib.sha256(sample_key.plaintext.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", sample_key.digest)
    assert sample_key.plaintext[-43:] not in sample_key.digest


def test_digest_never_raises_on_odd_text() -> None:
    assert len(digest("\ud800")) == 64
    assert len(digest("")) == 64


def test_verify_accepts_the_key_and_nothing_else(sample_key: IssuedKey) -> None:
    assert verify(sample_key.plaintext, sample_key.digest)
    other = generate_key(DESK)
    assert not verify(other.plaintext, sample_key.digest)
    assert not verify(sample_key.plaintext, other.digest)
    # The same key id and secret under another agency's name is another key.
    assert not verify(sample_key.plaintext.replace("000-00-21-H38", "000-00-05-H38"), sample_key.digest)
    assert not verify(with_secret(sample_key, other.plaintext[-43:]), sample_key.digest)
    assert not verify(sample_key.plaintext, "")
    assert not verify(sample_key.plaintext, sample_key.digest.upper())
    assert not verify(sample_key.plaintext, sample_key.digest + "0")
    assert not verify(sample_key.plaintext, "é" * 64)


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch, sample_key: IssuedKey) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify(sample_key.plaintext, sample_key.digest)
    assert calls == [(sample_key.digest.encode(), sample_key.digest.encode())]


def test_stored_key_knows_whether_it_is_revoked() -> None:
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    key = StoredKey(key_id="0a1b2c3d", agency_code=DESK, digest="0" * 64, label="x", created_at=at)
    assert not key.revoked
    assert StoredKey(**{**key.__dict__, "revoked_at": at}).revoked
