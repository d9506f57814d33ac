"""The one door reports go through: ``Ingest(raw_report_bytes, source) -> IngestResult``.

The IMAP poller passes each message as it is; the webhooks pass their events written as
standard reports (domain/report_synth.py). Behind it is :func:`services.bounce.bounces.ingest_report`,
which is idempotent (the same bytes twice change nothing) and commits before it returns: the
poller marks a message handled only after that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from incident_svc.config import Settings
from incident_svc.services.bounce.bounces import IngestResult, ingest_report

Ingest = Callable[[bytes, str], Awaitable[IngestResult]]
ACTOR = "service:bounces"


def default_ingest(settings: Settings) -> Ingest:
    """The ingestion ``serve`` uses."""

    async def ingest(raw: bytes, source: str) -> IngestResult:
        return await ingest_report(raw, source=source, settings=settings, actor=ACTOR)

    return ingest
