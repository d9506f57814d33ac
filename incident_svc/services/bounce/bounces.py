"""Ingesting returned reports: parse, map each to exactly one delivery, record, all in batches.

:func:`ingest_report` takes one report (a webhook, a mailbox poll); :func:`ingest_batch`
takes a few hundred (``bounces ingest``). A batch is parsed in a plain loop, its tokens and
Message-IDs resolved with one query, and written in one transaction with one audit event:

- the report itself, whole, in ``bounce_report`` (keyed by its SHA-256: a report ingested
  twice is written once, its effects applied once);
- the delivery's ``outcome`` (bounced, complained, delayed; a weaker report never replaces a
  stronger one), beside its status and SMTP reply, which stay the proof of dispatch;
- for a permanent failure (5.x.x), the person's address marked bounced, if it is still the
  address that bounced: campaigns created afterwards leave it out until the inventory
  supplies a new one.

A report is mapped by the signed token of its return path (VERP), else by its recipient and
the Message-ID of the message it returns, both of which must match one delivery. A token that
does not verify is refused, whatever else the report says.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain import bounce_parse
from incident_svc.domain.bounce_parse import Parsed, Unreadable
from incident_svc.domain.enums import DeliveryOutcome, EmailStatus
from incident_svc.domain.times import utcnow
from incident_svc.domain.verp import ReturnPaths
from incident_svc.rawsql import in_list, placeholders, query
from incident_svc.services.auditlog import audit, audit_key
from incident_svc.services.bounce import return_paths

Status = Literal["recorded", "duplicate", "refused", "unmatched", "unreadable"]
_ROWS_PER_STATEMENT = 200
# our Message-IDs: <c{campaign}.d{delivery}.{token}@{domain}> (services/delivery/campaigns.py)
_OUR_MESSAGE_ID = re.compile(r"<c[0-9]{1,18}\.d([0-9]{1,18})\.[^@<>]*@[^<>]+>")


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    source: str  # where it came from, e.g. "maildir /var/mail/bounces/new/1234.host"


@dataclass(frozen=True)
class IngestResult:
    sha256: str
    status: Status
    source: str
    reason: str | None = None  # why it was not recorded, one line
    delivery_id: int | None = None
    outcome: DeliveryOutcome | None = None

    @property
    def bad(self) -> bool:
        return self.status in ("refused", "unmatched", "unreadable")


@dataclass(frozen=True)
class _Match:
    incoming: Incoming
    sha256: str
    parsed: Parsed
    delivery_id: int
    matched_by: str


async def ingest_report(
    raw: bytes, *, source: str, settings: Settings, actor: str = "bounces"
) -> IngestResult:
    """Parse one report, map it to its delivery and record it (and its effect) if new."""
    [result] = await ingest_batch(
        [Incoming(raw, source)],
        actor=actor,
        paths=return_paths.checker(settings),
        key=audit_key.resolve(settings).key,
    )
    return result


async def ingest_batch(
    reports: Sequence[Incoming],
    *,
    actor: str,
    paths: ReturnPaths | None,
    key: bytes | None,
    parsed: Sequence[Parsed | Unreadable] | None = None,
) -> list[IngestResult]:
    """Ingest a batch in one transaction; one result per report, in order. ``parsed``: the
    reports already parsed (in worker processes, services/bounce_parse_pool), in order."""
    now = utcnow()
    conn = connections.get("default")
    hashes = [hashlib.sha256(r.raw).hexdigest() for r in reports]
    known = await _known(conn, sorted(set(hashes)))
    results: dict[int, IngestResult] = {}
    wanted: list[tuple[int, Parsed, int, str]] = []
    seen: set[str] = set()
    for index, (incoming, digest) in enumerate(zip(reports, hashes, strict=True)):
        if digest in known or digest in seen:
            results[index] = IngestResult(digest, "duplicate", incoming.source)
            continue
        seen.add(digest)
        report = bounce_parse.parse(incoming.raw) if parsed is None else parsed[index]
        if isinstance(report, Unreadable):
            results[index] = IngestResult(digest, "unreadable", incoming.source, report.reason)
            continue
        found = _candidate(report, paths)
        if isinstance(found, str):
            status: Status = "refused" if found.startswith("return-path") else "unmatched"
            results[index] = IngestResult(digest, status, incoming.source, found)
            continue
        wanted.append((index, report, *found))
    deliveries = await _deliveries(conn, sorted({w[2] for w in wanted}))
    matches: dict[int, _Match] = {}
    for index, report, delivery_id, matched_by in wanted:
        incoming = reports[index]
        problem = _confirm(report, delivery_id, matched_by, deliveries.get(delivery_id))
        if problem is not None:
            results[index] = IngestResult(hashes[index], "unmatched", incoming.source, problem)
            continue
        matches[index] = _Match(incoming, hashes[index], report, delivery_id, matched_by)
    if matches:
        written = await _record(list(matches.values()), now=now, actor=actor, key=key)
        for index, match in matches.items():
            status = "recorded" if match.sha256 in written else "duplicate"
            results[index] = IngestResult(
                match.sha256,
                status,
                match.incoming.source,
                None,
                match.delivery_id,
                match.parsed.outcome,
            )
    return [results[i] for i in range(len(reports))]


def _candidate(parsed: Parsed, paths: ReturnPaths | None) -> tuple[int, str] | str:
    """(delivery id, how) the report names, or why it names none (a forged token: refused)."""
    if paths is not None:
        for address in parsed.envelope:
            token = paths.check(address)
            if token is None:
                continue
            if not token.genuine:
                return f"return-path token {address!r} does not verify: refused"
            return token.delivery_id, "verp"
    if parsed.message_id is None or parsed.final_recipient is None:
        return "no return-path token, and no recipient with an original Message-ID"
    ours = _OUR_MESSAGE_ID.fullmatch(parsed.message_id)
    if ours is None:
        return f"Message-ID {parsed.message_id[:80]!r} is not one of ours"
    return int(ours.group(1)), "message-id"


def _confirm(
    parsed: Parsed, delivery_id: int, matched_by: str, row: dict[str, Any] | None
) -> str | None:
    if row is None:
        return f"delivery {delivery_id} does not exist"
    if matched_by == "message-id" and (
        row["message_id"] != parsed.message_id
        or str(row["address"]).lower() != parsed.final_recipient
    ):
        return f"recipient and Message-ID do not match delivery {delivery_id}"
    return None


async def _known(conn: BaseDBAsyncClient, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(hashes), _ROWS_PER_STATEMENT * 2):
        chunk = hashes[start : start + _ROWS_PER_STATEMENT * 2]
        sql = f"SELECT sha256 FROM bounce_report WHERE sha256 IN ({in_list(len(chunk))})"
        found.update(str(r["sha256"]) for r in await query(conn, sql, chunk))
    return found


async def _deliveries(conn: BaseDBAsyncClient, ids: list[int]) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _ROWS_PER_STATEMENT * 2):
        chunk = ids[start : start + _ROWS_PER_STATEMENT * 2]
        sql = (
            "SELECT id, address, message_id, subject_id FROM delivery "
            f"WHERE id IN ({in_list(len(chunk))})"
        )
        rows.update({int(r["id"]): r for r in await query(conn, sql, chunk)})
    return rows


async def _record(
    matches: list[_Match], *, now: datetime, actor: str, key: bytes | None
) -> set[str]:
    """Write the reports not yet stored and their effects; the hashes written."""
    async with write_transaction() as conn:
        written: set[str] = set()
        for start in range(0, len(matches), _ROWS_PER_STATEMENT):
            written |= await _insert(conn, matches[start : start + _ROWS_PER_STATEMENT], now)
        new = [m for m in matches if m.sha256 in written]
        by_outcome: dict[DeliveryOutcome, list[int]] = {o: [] for o in DeliveryOutcome}
        for match in new:
            by_outcome[match.parsed.outcome].append(match.delivery_id)
        for outcome, ids in by_outcome.items():
            await _set_outcome(conn, outcome, sorted(set(ids)), now)
        await _mark_addresses(conn, sorted(set(by_outcome[DeliveryOutcome.BOUNCED])), now)
        if new:
            await audit.record(
                conn,
                actor=actor,
                action="bounce.batch",
                target_type="delivery",
                target_id=str(min(m.delivery_id for m in new)),
                details=_details(new),
                key=key,
            )
    return written


async def _insert(conn: BaseDBAsyncClient, chunk: list[_Match], now: datetime) -> set[str]:
    columns = "sha256, delivery_id, kind, outcome, status, detail, matched_by, source, content, received_at"
    rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
    values: list[Any] = []
    for m in chunk:
        p = m.parsed
        values += [m.sha256, m.delivery_id, p.kind.value, p.outcome.value, p.status, p.detail]
        values += [m.matched_by, m.incoming.source[:255], m.incoming.raw, now]
    sql = (
        f"INSERT INTO bounce_report ({columns}) VALUES {rows} "
        "ON CONFLICT (sha256) DO NOTHING RETURNING sha256"
    )
    return {str(r["sha256"]) for r in await query(conn, sql, values)}


# a weaker report never replaces a stronger one: bounced > complained > delayed
_WEAKER = {
    DeliveryOutcome.BOUNCED: "(outcome IS NULL OR outcome <> 'bounced')",
    DeliveryOutcome.COMPLAINED: "(outcome IS NULL OR outcome = 'delayed')",
    DeliveryOutcome.DELAYED: "outcome IS NULL",
}


async def _set_outcome(
    conn: BaseDBAsyncClient, outcome: DeliveryOutcome, ids: list[int], now: datetime
) -> None:
    for start in range(0, len(ids), _ROWS_PER_STATEMENT * 2):
        chunk = ids[start : start + _ROWS_PER_STATEMENT * 2]
        sql = (
            "UPDATE delivery SET outcome = ?, outcome_at = ?, updated_at = ? "
            f"WHERE id IN ({in_list(len(chunk))}) AND {_WEAKER[outcome]}"
        )
        await conn.execute_query(placeholders(sql, conn), [outcome.value, now, now, *chunk])


async def _mark_addresses(conn: BaseDBAsyncClient, ids: list[int], now: datetime) -> None:
    """The people whose address bounced, if it is still their address (the inventory may have
    supplied a new one since the message went out)."""
    bounced = EmailStatus.BOUNCED.value
    for start in range(0, len(ids), _ROWS_PER_STATEMENT * 2):
        chunk = ids[start : start + _ROWS_PER_STATEMENT * 2]
        rows = await query(
            conn,
            "SELECT DISTINCT s.id FROM delivery d JOIN subject s ON s.id = d.subject_id "
            f"WHERE d.id IN ({in_list(len(chunk))}) AND lower(d.address) = lower(s.email) "
            "AND s.email_status <> ?",
            [*chunk, bounced],
        )
        people = sorted(int(r["id"]) for r in rows)
        if people:
            sql = (
                "UPDATE subject SET email_status = ?, updated_at = ? "
                f"WHERE id IN ({in_list(len(people))})"
            )
            await conn.execute_query(placeholders(sql, conn), [bounced, now, *people])


def _details(new: list[_Match]) -> dict[str, Any]:
    counts = Counter(m.parsed.outcome.value for m in new)
    digest = hashlib.sha256()
    for m in sorted(new, key=lambda m: m.sha256):
        digest.update(f"{m.sha256} {m.delivery_id} {m.parsed.outcome.value}\n".encode())
    return {
        "reports": len(new),
        **{outcome.value: counts[outcome.value] for outcome in DeliveryOutcome},
        "bounced_deliveries": sorted(
            {m.delivery_id for m in new if m.parsed.outcome is DeliveryOutcome.BOUNCED}
        ),
        "reports_sha256": digest.hexdigest(),
    }
