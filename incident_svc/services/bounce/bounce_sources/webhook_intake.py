"""Take in the events of one verified webhook request: once, and all of them or none.

The receipt (provider, hash of the request's id or token) and the ingestion of every event
share one transaction: a replay finds the receipt and changes nothing; a request whose
ingestion failed leaves no receipt, so the provider's retry is taken in.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from incident_svc.db import write_transaction
from incident_svc.domain.provider_events import ProviderEvent
from incident_svc.domain.report_synth import report_bytes
from incident_svc.errors import ConflictError
from incident_svc.models import WebhookReceipt
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest


async def accept(
    events: list[ProviderEvent],
    *,
    provider: str,
    token: str,
    ingest: Ingest,
    then: Callable[[], Awaitable[None]] | None = None,
) -> Counter[str]:
    """Ingest ``events`` (and run ``then``) once: :class:`ConflictError` on a replay.

    Deliveries are counted, not ingested: a report of success says nothing to record.
    Returns how many events ended how (IngestResult.status, or "delivered").
    """
    key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    now = datetime.now(UTC)
    outcomes: Counter[str] = Counter()
    async with write_transaction():
        try:
            await WebhookReceipt.create(provider=provider, key=key, received_at=now)
        except IntegrityError:
            raise ConflictError(f"{provider}: this request was already received") from None
        for event in events:
            if event.kind == "delivered":
                outcomes["delivered"] += 1
                continue
            result = await ingest(report_bytes(event), f"webhook:{provider}")
            outcomes[result.status] += 1
        if then is not None:
            await then()
    return outcomes
