"""Audit checkpoints: the chain's sequence number and head hash at a moment, signed. Pure.

A checkpoint is one JSON object (one line in a file, one record in the feed, the body of an
email), its keys in this order::

    {"v":1,"seq":42,"head":"<64 hex>","at":"2026-12-02T07:15:00.000000Z",
     "key_id":"<16 hex>"|null,"mac":"<64 hex>"}

``mac`` is HMAC-SHA256 with the audit key over the canonical JSON of the other fields,
prefixed by a label so that no chain hash can ever pass for a checkpoint signature.
``key_id`` names the key without revealing it (HMAC of a fixed label), so a checkpoint signed
with another key is told apart from an edited one. Without a key (``audit.allow_unkeyed``)
``key_id`` is null and ``mac`` a plain SHA-256: it shows a checkpoint was damaged, not who
wrote it.

A checkpoint holds when the chain still has an event with that sequence number and that
hash. Deleting the tail past it, deleting everything, or recomputing the chain (with the key
or without it) changes or removes that event, so the first checkpoint that no longer holds
names where the chain was cut or rewritten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from incident_svc.domain.audit_chain import GENESIS_HASH, canonical_json, format_time

VERSION = 1
FIELDS = ("v", "seq", "head", "at", "key_id", "mac")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_MAC_LABEL = b"incident-svc audit checkpoint v1\x00"
_KEY_ID_LABEL = b"incident-svc audit key id"
MAX_LINE = 1024


class CheckpointFormatError(ValueError):
    """A line or record that is not a checkpoint; the message says why, in a few words."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str
    at: str
    key_id: str | None
    mac: str
    v: int = VERSION

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def line(self) -> str:
        """The one-line JSON form (keys in the documented order)."""
        return json.dumps(self.as_dict(), separators=(",", ":"))


def key_id(key: bytes | None) -> str | None:
    if not key:
        return None
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _signed_part(seq: int, head: str, at: str, kid: str | None) -> bytes:
    body = {"v": VERSION, "seq": seq, "head": head, "at": at, "key_id": kid}
    return _MAC_LABEL + canonical_json(body).encode("ascii")


def _mac(data: bytes, key: bytes | None) -> str:
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def make(*, seq: int, head: str, at: datetime, key: bytes | None) -> Checkpoint:
    stamp, kid = format_time(at), key_id(key)
    return Checkpoint(seq, head, stamp, kid, _mac(_signed_part(seq, head, stamp, kid), key))


def parse(line: str | bytes) -> Checkpoint:
    """One checkpoint from its JSON text; :class:`CheckpointFormatError` for anything else."""
    if len(line) > MAX_LINE:
        raise CheckpointFormatError(f"longer than {MAX_LINE} characters")
    try:
        data = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise CheckpointFormatError(f"not JSON ({_short(exc)})") from None
    return from_mapping(data)


def from_mapping(data: object) -> Checkpoint:
    if not isinstance(data, dict):
        raise CheckpointFormatError("not a JSON object")
    if set(data) != set(FIELDS):
        raise CheckpointFormatError(f"expected exactly the fields {', '.join(FIELDS)}")
    if data["v"] != VERSION or type(data["v"]) is not int:
        raise CheckpointFormatError(f"unknown version {_shown(data['v'])}")
    seq = data["seq"]
    if type(seq) is not int or seq < 0 or seq >= 2**63:
        raise CheckpointFormatError(f"seq {_shown(seq)} is not a sequence number")
    for name, pattern in (("head", _HEX64), ("at", _TIME), ("mac", _HEX64)):
        if not isinstance(data[name], str) or not pattern.fullmatch(data[name]):
            raise CheckpointFormatError(f"{name} {_shown(data[name])} is malformed")
    kid = data["key_id"]
    if kid is not None and (not isinstance(kid, str) or not _HEX16.fullmatch(kid)):
        raise CheckpointFormatError(f"key_id {_shown(kid)} is malformed")
    return Checkpoint(seq, data["head"], data["at"], kid, data["mac"])


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True) if _jsonable(value) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: object) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))


def signature_problem(point: Checkpoint, key: bytes | None) -> str:
    """Why the checkpoint's signature cannot be accepted with ``key``, or ''."""
    ours = key_id(key)
    if point.key_id is not None and point.key_id != ours:
        mine = f"key {ours}" if ours else "no key"
        return f"signed with key {point.key_id}, but this command has {mine}"
    expected = _mac(_signed_part(point.seq, point.head, point.at, point.key_id), key)
    if not hmac.compare_digest(expected, point.mac):
        return "its signature does not match its content (the checkpoint was edited)"
    return ""


@dataclass(frozen=True)
class Mismatch:
    """The first checkpoint that no longer holds, and why."""

    checkpoint: Checkpoint
    where: str  # the witness and line, e.g. "var/audit-checkpoints.jsonl line 3"
    problem: str


def first_mismatch(
    points: Iterable[tuple[str, Checkpoint]],
    heads: Mapping[int, str],
    *,
    last_seq: int,
    key: bytes | None,
) -> Mismatch | None:
    """The lowest-sequence checkpoint the chain no longer holds (``heads``: seq -> hash)."""
    ordered = sorted(points, key=lambda item: (item[1].seq, item[1].at))
    for where, point in ordered:
        problem = signature_problem(point, key) or holding_problem(point, heads, last_seq)
        if problem:
            return Mismatch(point, where, problem)
    return None


def holding_problem(point: Checkpoint, heads: Mapping[int, str], last_seq: int) -> str:
    """Why the chain (``heads``: seq -> hash, ending at ``last_seq``) no longer holds it, or ''."""
    if point.seq == 0:
        return "" if point.head == GENESIS_HASH else "an empty chain's head must be 64 zeros"
    if point.seq > last_seq:
        ends = f"ends at sequence {last_seq}" if last_seq else "is empty"
        return f"the chain now {ends} (events after it were deleted)"
    now = heads.get(point.seq)
    if now is None:
        return f"the chain has no event {point.seq} any more"
    if now != point.head:
        return f"event {point.seq} now hashes to {now[:16]}…, not {point.head[:16]}… (rewritten)"
    return ""


def checkpoint_due(
    *,
    now: datetime,
    head_seq: int,
    last: Checkpoint | None,
    last_at: datetime | None,
    every: timedelta,
    campaign_completed: bool,
) -> bool:
    """Whether `serve` should write a checkpoint now: only when the chain has grown since
    the last one, and then at once after a campaign completed, else once ``every`` passed."""
    if last is not None and head_seq == last.seq:
        return False
    if head_seq == 0 and last is None:
        return False
    if campaign_completed or last_at is None:
        return True
    return every > timedelta(0) and now - last_at >= every
