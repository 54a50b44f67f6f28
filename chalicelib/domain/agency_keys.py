"""Agency API keys: their format, generation, parsing and verification (pure, no AWS).

A key reads ``mc_<agency>_<key id>_<secret>``, e.g.
``mc_000-00-21-H38_1a2b3c4d_<43 characters>``:

- ``mc_`` names the issuer, so secret scanners and people recognise a leaked key;
- ``<agency>`` is the agency's code with its dots made dashes (informational: the
  stored record, not this text, says which agency a key belongs to);
- ``<key id>`` is 8 lowercase hex digits, not secret: the store finds the key's
  record with it in one GetItem;
- ``<secret>`` is 32 random bytes in unpadded URL-safe base64 (43 characters, which
  may themselves contain ``-`` and ``_``: the parser reads the fixed-length tail).

Only the SHA-256 digest of the whole key is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

PREFIX = "mc"
KEY_ID_HEX_DIGITS = 8
SECRET_BYTES = 32
SECRET_CHARS = 43  # len(urlsafe_b64encode(32 bytes)) without its "=" padding
MAX_AGENCY_PART = 64

_AGENCY_PART = re.compile(rf"[0-9A-Za-z-]{{1,{MAX_AGENCY_PART}}}", re.ASCII)
_KEY = re.compile(
    rf"{PREFIX}_(?P<agency>[0-9A-Za-z-]{{1,{MAX_AGENCY_PART}}})"
    rf"_(?P<key_id>[0-9a-f]{{{KEY_ID_HEX_DIGITS}}})"
    rf"_(?P<secret>[0-9A-Za-z_-]{{{SECRET_CHARS}}})",
    re.ASCII,
)
MAX_KEY_CHARS = len(PREFIX) + 1 + MAX_AGENCY_PART + 1 + KEY_ID_HEX_DIGITS + 1 + SECRET_CHARS
_KEY_ID = re.compile(rf"[0-9a-f]{{{KEY_ID_HEX_DIGITS}}}", re.ASCII)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly generated key: ``plaintext`` is shown once to ops and never stored."""

    key_id: str
    plaintext: str
    digest: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"IssuedKey(key_id={self.key_id!r}, plaintext='***', digest={self.digest!r})"


@dataclass(frozen=True)
class StoredKey:
    """What the store keeps of a key."""

    key_id: str
    agency_code: str
    digest: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ParsedKey(NamedTuple):
    key_id: str
    plaintext: str


def agency_part(agency_code: str) -> str:
    """The agency code as the key shows it: ``000.00.21.H38`` → ``000-00-21-H38``."""
    return agency_code.replace(".", "-")


def is_key_id(text: object) -> bool:
    return isinstance(text, str) and _KEY_ID.fullmatch(text) is not None


def generate_key(agency_code: str) -> IssuedKey:
    part = agency_part(agency_code)
    if not _AGENCY_PART.fullmatch(part):
        raise ValueError(f"agency code {agency_code!r} cannot be embedded in an API key")
    key_id = secrets.token_hex(KEY_ID_HEX_DIGITS // 2)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")
    plaintext = f"{PREFIX}_{part}_{key_id}_{secret}"
    return IssuedKey(key_id=key_id, plaintext=plaintext, digest=digest(plaintext))


def digest(plaintext: str) -> str:
    """SHA-256 of the key, hex.

    A fast hash is the right tool here: the key carries 256 random bits, so nobody can
    guess it back from a leaked digest, however fast they hash. Slow password hashes
    (bcrypt, scrypt, Argon2) protect low-entropy secrets chosen by people; they would
    only add tens of milliseconds to every agency API call.
    """
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def parse_key(text: object) -> ParsedKey | None:
    """``(key_id, plaintext)`` if ``text`` has the shape of a key, else None; never raises."""
    if not isinstance(text, str) or len(text) > MAX_KEY_CHARS:
        return None
    match = _KEY.fullmatch(text)
    if match is None:
        return None
    secret = match.group("secret")
    try:
        raw = base64.urlsafe_b64decode(secret + "=")
    except (ValueError, binascii.Error):  # pragma: no cover - the pattern admits only the alphabet
        return None
    # 43 characters carry 258 bits: the last 2 must be zero, as generate_key writes them.
    if len(raw) != SECRET_BYTES or base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != secret:
        return None
    return ParsedKey(match.group("key_id"), text)


def verify(plaintext: str, stored_digest: str) -> bool:
    """Whether ``plaintext`` is the key ``stored_digest`` was made from, in constant time."""
    return hmac.compare_digest(digest(plaintext).encode("ascii"), stored_digest.encode("utf-8", "surrogatepass"))
