"""What still needs a person, so that erasing them (`subject erase`, or retention of a former
subject) is refused with the reason (docs/retention.md):

- a campaign in progress (approved, scheduled or sending) with them in its frozen audience, or
  a pending notice to them;
- an open obligation of an incident they were affected by, for a place they live in (the
  obligations engine, services/obligations/): a notice to them not yet sent, a regulator
  report that counts them not yet filed. Open means open, late, or without a fixed deadline,
  and applying or possibly applying; one met or declined (`incident obligation-met`,
  `incident obligation-declined`) no longer holds them;
- a disclosure to an authority whose notice to them is still held.

Each reason is one line naming the campaign, obligation or disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.domain.compliance import Applicability, Obligation, Status
from incident_svc.domain.compliance.facts import covers
from incident_svc.domain.enums import CampaignStatus, IncidentStatus
from incident_svc.rawsql import in_list, query
from incident_svc.services.obligations.compute import obligations_for

# a campaign in one of these states may still send to its frozen audience
IN_PROGRESS = (CampaignStatus.APPROVED, CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
_OPEN = (Status.OPEN, Status.LATE, Status.NO_FIXED_DEADLINE)


async def campaigns_in_progress(conn: BaseDBAsyncClient, subject_id: int) -> list[str]:
    statuses = [s.value for s in IN_PROGRESS]
    rows = await query(
        conn,
        "SELECT DISTINCT c.id, c.status FROM campaign c JOIN campaign_recipient r "
        f"ON r.campaign_id = c.id WHERE r.subject_id = ? AND c.status IN ({in_list(3)}) "
        "UNION SELECT DISTINCT c.id, c.status FROM campaign c JOIN delivery d "
        "ON d.campaign_id = c.id WHERE d.subject_id = ? AND d.status = 'pending' "
        f"AND c.status NOT IN ({in_list(2)})",
        [subject_id, *statuses, subject_id, "completed", "cancelled"],
    )
    return [f"campaign {r['id']} ({r['status']}) still needs them" for r in rows]


@dataclass
class ObligationCache:
    """Open obligations per incident, computed once per run (retention walks many people)."""

    settings: Settings
    by_incident: dict[str, list[Obligation]] = field(default_factory=dict)

    async def open_for(self, ref: str) -> list[Obligation]:
        if ref not in self.by_incident:
            computed = await obligations_for(ref=ref, settings=self.settings)
            self.by_incident[ref] = [
                o
                for o in computed.obligations
                if o.status in _OPEN and o.applicability is not Applicability.NO
            ]
        return self.by_incident[ref]


async def open_obligations(
    conn: BaseDBAsyncClient, subject_id: int, jurisdiction: str, cache: ObligationCache
) -> list[str]:
    """Open obligations of the incidents this person was affected by, where they live."""
    incidents = await query(
        conn,
        "SELECT DISTINCT i.ref FROM exposure e JOIN incident i ON i.id = e.incident_id "
        "WHERE e.subject_id = ? AND i.status <> ? ORDER BY i.ref",
        [subject_id, IncidentStatus.DISMISSED.value],
    )
    found = []
    for row in incidents:
        ref = str(row["ref"])
        for o in await cache.open_for(ref):
            if covers(o.place, jurisdiction):
                due = f", due {o.due_at.isoformat()}" if o.due_at else ""
                found.append(
                    f"{ref} obligation {o.key} ({o.recipient}: {o.status.value}{due}) "
                    "still needs them"
                )
    return found


async def held_disclosures(conn: BaseDBAsyncClient, subject_id: int) -> list[str]:
    rows = await query(
        conn,
        "SELECT d.ref FROM disclosure_notice n JOIN disclosure d ON d.id = n.disclosure_id "
        "WHERE n.subject_id = ? AND n.status = 'held' ORDER BY d.ref",
        [subject_id],
    )
    return [f"disclosure {r['ref']} (held) still owes them a notice" for r in rows]


async def blockers(
    conn: BaseDBAsyncClient, subject_id: int, jurisdiction: str, cache: ObligationCache
) -> list[str]:
    """Every reason the person cannot be erased now; empty when nothing needs them."""
    return (
        await campaigns_in_progress(conn, subject_id)
        + await open_obligations(conn, subject_id, jurisdiction, cache)
        + await held_disclosures(conn, subject_id)
    )
