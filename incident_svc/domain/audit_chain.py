"""The audit chain's rules: canonical form, link hash, and verification. Pure functions.

Each event's hash covers its canonical form, which includes the previous event's hash, so
changing, deleting, inserting or reordering any event breaks every link after it. With a key,
the link hash is an HMAC-SHA256: without the key nobody can compute a chain that verifies.

Canonical form: the JSON object of the fields below, keys sorted, no spaces, UTF-8, with
``details`` embedded as the exact canonical JSON text stored with the event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
CHAINED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "details",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """The one JSON spelling of a value: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(moment: datetime) -> str:
    """UTC, ISO 8601, always with microseconds, so the text is the same wherever it is made."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Link:
    """An audit event as it is chained (all text, exactly as stored)."""

    seq: int
    at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    details: str
    prev_hash: str
    hash: str = ""

    def canonical(self) -> bytes:
        body = {name: getattr(self, name) for name in CHAINED_FIELDS}
        return canonical_json(body).encode("utf-8")

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Link:
        return cls(
            seq=int(row["seq"]),
            **{name: str(row[name]) for name in CHAINED_FIELDS if name != "seq"},
            hash=str(row.get("hash", "")),
        )


def link_hash(link: Link, key: bytes | None) -> str:
    data = link.canonical()
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def next_link(
    *,
    previous: Link | None,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping[str, Any],
    key: bytes | None,
) -> Link:
    unsigned = Link(
        seq=previous.seq + 1 if previous else 1,
        at=format_time(at),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=canonical_json(dict(details)),
        prev_hash=previous.hash if previous else GENESIS_HASH,
    )
    return Link(**{**unsigned.__dict__, "hash": link_hash(unsigned, key)})


@dataclass(frozen=True)
class Verdict:
    intact: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_hash: str = GENESIS_HASH


def verify_chain(links: Iterable[Link], key: bytes | None) -> Verdict:
    """Walk the chain in stored order; name the first sequence number where it breaks."""
    walk = ChainWalk(key)
    for link in links:
        if not walk.add(link):
            break
    return walk.verdict()


class ChainWalk:
    """:func:`verify_chain` one link at a time, for a caller that reads the chain in pages."""

    def __init__(self, key: bytes | None) -> None:
        self._key = key
        self._expected_seq, self._prev_hash, self._checked = 1, GENESIS_HASH, 0
        self._broken: Verdict | None = None

    def add(self, link: Link) -> bool:
        """Check the next link; False once the chain is broken (later links are ignored)."""
        if self._broken is not None:
            return False
        problem = _link_problem(link, self._expected_seq, self._prev_hash, self._key)
        if problem:
            self.fail(link.seq, problem)
            return False
        self._checked += 1
        self._expected_seq, self._prev_hash = link.seq + 1, link.hash
        return True

    def fail(self, seq: int, problem: str) -> None:
        """Break the walk at ``seq`` for a reason found outside the link (a malformed row)."""
        if self._broken is None:
            self._broken = Verdict(False, self._checked, seq, problem, self._prev_hash)

    @property
    def expected_seq(self) -> int:
        return self._expected_seq

    def verdict(self) -> Verdict:
        return self._broken or Verdict(True, self._checked, head_hash=self._prev_hash)


def _link_problem(link: Link, expected_seq: int, prev_hash: str, key: bytes | None) -> str:
    for name in ("prev_hash", "hash"):
        value = getattr(link, name)
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            return f"stored {name} is not 64 lowercase hex digits ({shown(value)})"
    if link.seq != expected_seq:
        what = "missing" if link.seq > expected_seq else "out of order or duplicated"
        return f"expected sequence {expected_seq}, found {link.seq} (event {what})"
    if link.prev_hash != prev_hash:
        return "previous-hash does not match the event before it (inserted or reordered)"
    if not hmac.compare_digest(link.hash, link_hash(link, key)):
        keyed = " or the HMAC key differs" if key else " (is an HMAC key needed?)"
        return f"hash does not match the content (edited{keyed})"
    return ""


def shown(value: object, width: int = 24) -> str:
    """A stored value as it may appear in a one-line report: ASCII, short, no line breaks."""
    text = ascii(value)
    return text if len(text) <= width else text[: width - 1] + "…"
