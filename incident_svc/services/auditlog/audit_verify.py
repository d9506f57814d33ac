"""`audit verify`: the chain's own consistency, then every checkpoint witness against it.

The chain is read with plain SQL and every stored value is checked for its type and form
before it is hashed, so a malformed row (a sequence number that is not a whole number, a
hash that is not hex or not ASCII, a value of the wrong type) breaks verification at that
sequence with one line instead of an exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.domain.audit_chain import CHAINED_FIELDS, ChainWalk, Link, Verdict, shown
from incident_svc.domain.checkpoints import Checkpoint, Mismatch, first_mismatch
from incident_svc.rawsql import placeholders
from incident_svc.services.auditlog import audit_key, checkpoint_store

_PAGE = 5000
_COLUMNS = (*CHAINED_FIELDS, "hash")
_NULL_SEQ = "SELECT 1 FROM audit_event WHERE seq IS NULL LIMIT 1"
_FIRST = f"SELECT {', '.join(_COLUMNS)} FROM audit_event ORDER BY seq LIMIT {_PAGE}"
_NEXT = f"SELECT {', '.join(_COLUMNS)} FROM audit_event WHERE seq > ? ORDER BY seq LIMIT {_PAGE}"


@dataclass(frozen=True)
class Witnesses:
    """The checkpoints found, where they came from, and the first unreadable line, if any."""

    sources: list[str] = field(default_factory=list)
    points: list[tuple[str, Checkpoint]] = field(default_factory=list)
    bad: tuple[str, str] | None = None


@dataclass(frozen=True)
class Report:
    verdict: Verdict
    key_source: str
    keyed: bool
    last_seq: int
    witnesses: Witnesses
    mismatch: Mismatch | None

    @property
    def intact(self) -> bool:
        return self.verdict.intact and self.mismatch is None and self.witnesses.bad is None


def gather(settings: Settings, extra: Iterable[str] = ()) -> Witnesses:
    """Every configured witness (the local file when on, ``audit.checkpoints``) plus ``extra``."""
    sources: list[str] = []
    local = checkpoint_store.checkpoint_file(settings)
    if settings.audit.checkpoint_to_file and local.exists():
        sources.append(str(local))
    sources += [s for s in [*settings.audit.checkpoints, *extra] if s not in sources]
    points: list[tuple[str, Checkpoint]] = []
    for source in sources:
        loaded = checkpoint_store.load(source)
        points += loaded.points
        if loaded.bad is not None:
            return Witnesses(sources, points, loaded.bad)
    return Witnesses(sources, points)


async def verify(settings: Settings, *, extra: Iterable[str] = ()) -> Report:
    """Check the chain with the key in use, then that it still holds every checkpoint."""
    key = audit_key.resolve(settings)
    witnesses = gather(settings, extra)
    verdict, heads, last_seq = await walk_chain(key.key, {p.seq for _, p in witnesses.points})
    mismatch = first_mismatch(witnesses.points, heads, last_seq=last_seq, key=key.key)
    return Report(verdict, key.source, key.keyed, last_seq, witnesses, mismatch)


async def walk_chain(
    key: bytes | None, wanted: Collection[int] = ()
) -> tuple[Verdict, dict[int, str], int]:
    """The chain's verdict, the hashes at the ``wanted`` sequence numbers, the last sequence.

    After a break the walk goes on reading (without judging) so that checkpoints further on
    can still be compared; a malformed row ends it.
    """
    walk = ChainWalk(key)
    heads: dict[int, str] = {}
    last_seq = 0
    async for row in _stored_rows():
        link, problem = _as_link(row)
        if link is None:
            walk.fail(_seq_for_report(row, walk.expected_seq), problem)
            break
        walk.add(link)
        last_seq = link.seq
        if link.seq in wanted:
            heads[link.seq] = link.hash
    if await _has_null_seq():
        walk.fail(walk.expected_seq, "a stored sequence number is empty (NULL)")
    return walk.verdict(), heads, last_seq


async def _has_null_seq() -> bool:
    """SQLite lets a non-INTEGER primary key hold NULL, which no ``seq > ?`` page returns."""
    rows = await connections.get("default").execute_query_dict(_NULL_SEQ)
    return bool(rows)


async def _stored_rows() -> AsyncIterator[dict[str, Any]]:
    conn = connections.get("default")
    page = await conn.execute_query_dict(_FIRST)  # no lower bound: a stored 0 or -1 is read too
    while page:
        for row in page:
            yield row
        last = page[-1]["seq"]
        if type(last) is not int:  # a malformed row ends the walk; nothing to page past
            return
        page = await conn.execute_query_dict(placeholders(_NEXT, conn), [last])


def _as_link(row: dict[str, Any]) -> tuple[Link | None, str]:
    seq = row["seq"]
    if type(seq) is not int:
        return None, f"stored sequence number {shown(seq)} is not a whole number"
    for name in _COLUMNS[1:]:
        if not isinstance(row[name], str):
            return None, f"stored {name} is a {type(row[name]).__name__}, not text"
    values = {name: row[name] for name in _COLUMNS if name != "seq"}
    return Link(seq=seq, **values), ""


def _seq_for_report(row: dict[str, Any], expected: int) -> int:
    seq = row["seq"]
    return seq if type(seq) is int else expected
