"""An incident whose affected people live in several places, for reports and the register."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incident_svc.models import Incident
from tests.notice_data import make_incident, make_subject

DISCOVERED = datetime(2026, 11, 22, 9, 15, tzinfo=UTC)
# residence -> (people, categories of each)
PEOPLE: dict[str, tuple[int, list[str]]] = {
    "GB": (3, ["contact", "payment_card"]),
    "HK": (2, ["contact"]),
    "US-TX": (2, ["contact", "ssn"]),
    "US-CA": (1, ["contact", "drivers_licence"]),
    "US": (1, ["contact"]),
    "FR": (1, ["contact", "payment_card"]),
}


async def spread_incident(ref: str = "INC-2026-0001", **changes: Any) -> Incident:
    """The incident with its affected list resolved: 10 people in six places."""
    incident = await make_incident(
        ref,
        discovered_at=DISCOVERED,
        affected_resolved_at=DISCOVERED,
        categories=["contact", "payment_card", "ssn", "drivers_licence"],
        **changes,
    )
    n = 0
    for residence, (count, categories) in PEOPLE.items():
        for _ in range(count):
            n += 1
            await make_subject(incident, f"P-{n}", categories, jurisdiction=residence)
    await Incident.filter(id=incident.id).update(affected_count=n)
    return incident
