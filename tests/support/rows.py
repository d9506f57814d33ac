"""Minimal rows for tests of the service process: an incident, a campaign.

Written with the ORM directly, because these tests are about what the scheduler does with
rows, not about how the CLI makes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incident_svc.domain.enums import CampaignStatus, NoticeKind, Severity
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign, Incident


async def incident(ref: str = "INC-2026-0001", **fields: Any) -> Incident:
    values: dict[str, Any] = {
        "title": "Test incident",
        "summary": "A test.",
        "severity": Severity.HIGH,
        "discovered_at": utcnow(),
        "created_by": "tester",
    }
    values.update(fields)
    return await Incident.create(ref=ref, **values)


async def campaign(inc: Incident, scheduled_at: datetime | None, **fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "kind": NoticeKind.SUBJECT_NOTICE,
        "channels": ["email"],
        "status": CampaignStatus.SCHEDULED,
        "created_by": "tester",
    }
    values.update(fields)
    return await Campaign.create(incident=inc, scheduled_at=scheduled_at, **values)
