"""Per-person notice history: who was sent which notice about an incident, and how it ended.

Read straight from ``delivery`` (one row per notice, recipient and channel) joined to its
campaign: when it was sent, by which channel, with which content digest (the SHA-256 of the
exact bytes sent) and its outcome (``domain.notice_history.outcome``: accepted, bounced,
complained, failed, substituted, pending or cancelled). Reports after dispatch (bounces,
complaints, substitute notice) write ``delivery.outcome``; this module only reads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from tortoise import connections

from incident_svc.domain.csv_cells import safe_cell
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.notice_history import PERSON_KINDS, outcome
from incident_svc.errors import NotFoundError, ValidationError
from incident_svc.models import Incident
from incident_svc.rawsql import as_utc, query
from incident_svc.services.delivery.audience_rules import REACHED, told_kinds
from incident_svc.services.delivery.audiences import NO_LONGER_AFFECTED, no_longer_affected_count
from incident_svc.services.files.export_file import export_file

COLUMNS = (
    "recipient_ref",
    "recipient_type",
    "incident",
    "kind",
    "campaign",
    "channel",
    "address",
    "locale",
    "sent_at",
    "content_sha256",
    "message_id",
    "outcome",
    "outcome_at",
    "status",
    "attempts",
    "delivery",
)
PAGE = 5000
_ROWS = """
SELECT d.id AS delivery, d.recipient_ref, d.subject_id, c.kind, c.id AS campaign, d.channel,
       d.address, d.locale, d.sent_at, d.content_hash AS content_sha256, d.message_id,
       d.status, d.outcome, d.outcome_at, d.substituted_at, d.attempts
FROM delivery d JOIN campaign c ON c.id = d.campaign_id
WHERE c.incident_id = ? AND d.id > ? {subject}
ORDER BY d.id LIMIT ?
"""
_TOLD_GONE = """
SELECT s.external_ref AS ref, s.email AS address, count(*) AS notices,
       max(d.sent_at) AS last_told
{body}
GROUP BY s.external_ref, s.email ORDER BY s.external_ref LIMIT ?
"""


async def incident_id(ref: str) -> int:
    found = await Incident.get_or_none(ref=ref).only("id")
    if found is None:
        raise NotFoundError(f"incident {ref} does not exist")
    return int(found.id)


async def rows(
    incident_ref: str, *, subject_ref: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Every notice about the incident (to one recipient reference if given), in id order."""
    found = await incident_id(incident_ref)
    sql = _ROWS.format(subject="AND d.recipient_ref = ?" if subject_ref is not None else "")
    extra = [subject_ref] if subject_ref is not None else []
    conn, last = connections.get("default"), 0
    while True:
        page = await query(conn, sql, [found, last, *extra, PAGE])
        for row in page:
            yield _entry(incident_ref, row)
        if len(page) < PAGE:
            return
        last = int(page[-1]["delivery"])


def _entry(incident_ref: str, row: dict[str, Any]) -> dict[str, Any]:
    kind = NoticeKind(str(row["kind"]))
    return {
        "recipient_ref": row["recipient_ref"],
        "recipient_type": "person" if kind in PERSON_KINDS else "account_holder",
        "incident": incident_ref,
        "kind": kind.value,
        "campaign": int(row["campaign"]),
        "channel": str(row["channel"]),
        "address": row["address"],
        "locale": row["locale"],
        "sent_at": _iso(row["sent_at"]),
        "content_sha256": row["content_sha256"],
        "message_id": row["message_id"],
        "outcome": outcome(
            str(row["status"]), row["outcome"], row["substituted_at"] is not None
        ).value,
        "outcome_at": _iso(row["outcome_at"]),
        "status": str(row["status"]),
        "attempts": int(row["attempts"]),
        "delivery": int(row["delivery"]),
    }


def _iso(value: Any) -> str | None:
    moment = as_utc(value)
    return moment.isoformat() if moment is not None else None


async def told_no_longer_affected(ref: str, *, limit: int = 100) -> dict[str, Any]:
    """People told about the incident (accepted) who are no longer on its affected list:
    their count and the first ``limit`` by reference, with when they were last told."""
    found = await incident_id(ref)
    conn = connections.get("default")
    body = NO_LONGER_AFFECTED.format(
        kinds=told_kinds(NoticeKind.SUBJECT_NOTICE),
        reached=REACHED,
        join="JOIN subject s ON s.id = d.subject_id",
    )
    sql = _TOLD_GONE.format(body=body)
    listed = await query(conn, sql, [found, found, limit])
    return {
        "count": await no_longer_affected_count(conn, incident_id=found),
        "people": [
            {
                "ref": row["ref"],
                "address": row["address"],
                "notices": int(row["notices"]),
                "last_told": _iso(row["last_told"]),
            }
            for row in listed
        ],
    }


def export_format(path: Path) -> str:
    """'csv' or 'jsonl', from the file's suffix."""
    fmt = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError("name the file .csv or .jsonl", file=printable(path))
    return fmt


def printable(path: Path) -> str:
    """A path as it can sit in a one-line message (names may hold any character)."""
    text = str(path)
    return text if text.isprintable() else repr(text)


async def export(
    incident_ref: str, *, path: Path, subject_ref: str | None = None, force: bool = False
) -> int:
    """Write the history to ``path`` (CSV cells safe from spreadsheet formulas, or JSON
    Lines; services/files/export_file.py: complete or not at all); returns the number of rows.
    Nothing is written for an unknown incident."""
    fmt = export_format(path)
    await incident_id(incident_ref)
    with export_file(path, force=force) as out:
        return await _write(out, incident_ref, subject_ref, fmt)


async def _write(out: IO[str], incident_ref: str, subject_ref: str | None, fmt: str) -> int:
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    async for row in rows(incident_ref, subject_ref=subject_ref):
        if writer is not None:
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
