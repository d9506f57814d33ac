"""Keyed pseudonyms for personal fields that outlive their retention period.

A pseudonym is the HMAC-SHA256, with the retention key, of the value in one normal form
(Unicode NFKC, trimmed, case-folded). The same address always gives the same pseudonym, so a
person who presents their address can still be matched to the rows kept about them; without
the key, the pseudonym says nothing about the address. No I/O here.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

ADDRESS_PREFIX = "pseud:"  # an address column that holds a pseudonym starts so
REF_PREFIX = "erased:"  # a reference column of an erased person


def normal_form(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def keyed_hash(key: bytes, value: str) -> str:
    """64 hex digits: HMAC-SHA256(key, normal form of value)."""
    return hmac.new(key, normal_form(value).encode("utf-8"), hashlib.sha256).hexdigest()


def address_pseudonym(key: bytes, address: str) -> str:
    """What an expired or erased address becomes (70 characters, fits every address column)."""
    return ADDRESS_PREFIX + keyed_hash(key, address)


def ref_pseudonym(key: bytes, ref: str) -> str:
    """What an erased person's reference becomes. Refs are compared exactly, not case-folded,
    so the hash is over the reference as given (71 characters)."""
    digest = hmac.new(key, ref.encode("utf-8"), hashlib.sha256).hexdigest()
    return REF_PREFIX + digest


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer keys of HMAC-SHA256 (RFC 2104), so that a database with only a
    SHA-256 function computes the same HMAC: sha256(outer || sha256(inner || message))."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


class AddressPseudonyms:
    """``address_pseudonym`` for many addresses with one key, remembering repeats until
    ``forget`` (one batch): a campaign's rows often repeat an address (several channels)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._seen: dict[str, str] = {}

    def __call__(self, address: str) -> str:
        found = self._seen.get(address)
        if found is None:
            digest = hmac.digest(self._key, normal_form(address).encode("utf-8"), "sha256")
            found = self._seen[address] = ADDRESS_PREFIX + digest.hex()
        return found

    def forget(self) -> None:
        self._seen.clear()


def is_pseudonym(value: str) -> bool:
    return value.startswith(ADDRESS_PREFIX)
