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


def is_pseudonym(value: str) -> bool:
    return value.startswith(ADDRESS_PREFIX)
