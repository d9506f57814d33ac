"""Append to, read, verify and export the tamper-evident audit log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import ValidationError as ORMValidationError
from tortoise.expressions import Q

from incident_svc.db import dialect
from incident_svc.domain.audit_chain import (
    CHAINED_FIELDS,
    Link,
    Verdict,
    canonical_json,
    format_time,
    next_link,
)
from incident_svc.models import AuditEvent
from incident_svc.rawsql import in_list, placeholders
from incident_svc.services.auditlog.audit_verify import walk_chain
from incident_svc.services.files.export_file import export_file

# Any constant will do: it names the one advisory lock that serialises appends on PostgreSQL.
_PG_AUDIT_LOCK = 0x1AC1DE47
_PAGE = 5000


async def record(
    conn: BaseDBAsyncClient,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    details: Mapping[str, Any] | None = None,
    key: bytes | None = None,
) -> Link:
    """Append one event inside the caller's transaction ``conn``.

    Call it last in the transaction: on PostgreSQL it takes a transaction-scoped advisory
    lock that orders all appends; on SQLite the transaction already holds the write lock
    (BEGIN IMMEDIATE). The sequence number is the primary key, so even a bug elsewhere
    cannot fork the chain: a second event with the same number fails to insert.
    """
    if dialect(conn) == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_AUDIT_LOCK])
    # raw SQL, not the ORM: this runs once per group commit of delivery outcomes
    heads = await conn.execute_query_dict(_HEAD)
    link = next_link(
        previous=Link(**heads[0]) if heads else None,
        at=datetime.now(UTC),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        details=details or {},
        key=key,
    )
    values = [getattr(link, f) for f in _FIELDS]
    for field, value in zip(_FIELDS, values, strict=True):
        limit = _LIMITS.get(field)
        if limit is not None and len(value) > limit:  # as the ORM refused it, on either backend
            raise ORMValidationError(f"{field}: Length of '{value}' {len(value)} > {limit}")
    await conn.execute_query(placeholders(_APPEND, conn), values)
    return link


_FIELDS = (*CHAINED_FIELDS, "hash")  # the columns of audit_event, in the chain's order
_HEAD = f"SELECT {', '.join(_FIELDS)} FROM audit_event ORDER BY seq DESC LIMIT 1"
_LIMITS = {
    f: AuditEvent._meta.fields_map[f].max_length  # type: ignore[attr-defined]
    for f in _FIELDS
    if getattr(AuditEvent._meta.fields_map[f], "max_length", None)
}
_APPEND = f"INSERT INTO audit_event ({', '.join(_FIELDS)}) VALUES ({in_list(len(_FIELDS))})"


def _to_link(event: AuditEvent) -> Link:
    return Link(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        details=event.details,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


async def iter_links() -> AsyncIterator[Link]:
    """Every event in sequence order, a page at a time (memory stays flat)."""
    last = 0
    while True:
        page = await AuditEvent.filter(seq__gt=last).order_by("seq").limit(_PAGE)
        if not page:
            return
        for event in page:
            yield _to_link(event)
        last = page[-1].seq


async def verify(*, key: bytes | None) -> Verdict:
    """The chain's own consistency (``audit_verify.verify`` adds the checkpoint witnesses)."""
    verdict, _, _ = await walk_chain(key)
    return verdict


async def events(
    *,
    incident_ref: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[Link]:
    """Events for reading, oldest first, optionally about one incident or since a time."""
    query = AuditEvent.all().order_by("seq")
    if since is not None:
        query = query.filter(at__gte=format_time(since))
    if incident_ref is not None:
        # events about an incident either target it or name it in their details
        query = query.filter(
            Q(target_type="incident", target_id=incident_ref)
            | Q(details__contains=f'"incident":{canonical_json(incident_ref)}')
        )
    if limit is not None:
        query = query.limit(limit)
    return [_to_link(event) for event in await query]


async def export(path: Path, *, force: bool = False) -> int:
    """Write the whole chain as JSON Lines, one event a line, with every hashed field
    (services/files/export_file.py: all or nothing, an existing file only with ``force``)."""
    count = 0
    with export_file(path, force=force) as out:
        async for link in iter_links():
            out.write(json.dumps(link.__dict__, ensure_ascii=False) + "\n")
            count += 1
    return count


async def count() -> int:
    return await AuditEvent.all().count()
