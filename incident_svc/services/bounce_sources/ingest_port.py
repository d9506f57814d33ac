"""The one door reports go through: ``Ingest(raw_report_bytes, source)``.

The IMAP poller passes each message as it is; the webhooks pass their events written as
standard reports (domain/report_synth.py). The function must be idempotent (the same bytes
twice change nothing) and commit before it returns: the poller marks a message handled only
after that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.services import audit

Ingest = Callable[[bytes, str], Awaitable[object]]
ACTOR = "service:bounces"


def default_ingest(settings: Settings, *, key: bytes | None) -> Ingest:
    """The ingestion ``serve`` uses."""

    async def ingest(raw: bytes, source: str) -> object:
        return await record_received(raw, source=source, key=key)

    return ingest


async def record_received(raw: bytes, *, source: str, key: bytes | None) -> str:
    """Audit that a report arrived (its hash, size and source); returns the hash."""
    digest = hashlib.sha256(raw).hexdigest()
    async with write_transaction() as conn:
        await audit.record(
            conn,
            actor=ACTOR,
            action="bounce.report_received",
            target_type="report",
            target_id=digest,
            details={"source": source, "bytes": len(raw)},
            key=key,
        )
    return digest
