"""Read one incident's facts for reports and the register: a few set-based queries.

Counts by data category and by residence come from one GROUP BY over the exposures (the
distinct (categories, residence) pairs are few however many people are affected); the
notices to the people from one GROUP BY over their deliveries; decisions and holds from
the audit log, so a hold that was lifted still explains a delay.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.domain.compliance import IncidentFacts
from incident_svc.domain.enums import DeliveryStatus, NoticeKind
from incident_svc.domain.reports.facts import Decision, Organisation, PeopleNotice, ReportFacts
from incident_svc.models import Campaign, Incident, ObligationRecord
from incident_svc.notices.context import localised_texts
from incident_svc.rawsql import as_utc, query
from incident_svc.services.auditlog import audit
from incident_svc.services.obligations.compute import gather_facts

_COUNTS = (
    "SELECT e.categories AS categories, s.jurisdiction AS residence, COUNT(*) AS n "
    "FROM exposure e JOIN subject s ON s.id = e.subject_id WHERE e.incident_id = ? "
    "GROUP BY e.categories, s.jurisdiction"
)
_DELIVERIES = (
    "SELECT d.status AS status, COUNT(*) AS n, MIN(d.sent_at) AS first, MAX(d.sent_at) AS last "
    "FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
    "WHERE c.incident_id = ? AND c.kind = ? GROUP BY d.status"
)
DECISION_ACTIONS = {
    "incident.status": "status",
    "incident.regulator_notified": "regulator notified",
    "campaign.held": "notice to the people held",
}


def organisation(settings: Settings) -> Organisation:
    org = settings.org
    return Organisation(
        name=org.name,
        contact_email=org.contact_email,
        contact_phone=org.contact_phone,
        postal_address=org.postal_address,
        website_url=org.website_url,
        sectors=tuple(settings.compliance.sectors),
    )


async def counts(incident_id: int) -> tuple[dict[str, int], dict[str, int], int]:
    """People by data category, by residence, and in all."""
    rows = await query(connections.get("default"), _COUNTS, [incident_id])
    by_category: Counter[str] = Counter()
    by_residence: Counter[str] = Counter()
    for row in rows:
        n = int(row["n"])
        categories = row["categories"]
        for category in json.loads(categories) if isinstance(categories, str) else categories:
            by_category[str(category)] += n
        by_residence[str(row["residence"])] += n
    return dict(by_category), dict(by_residence), sum(by_residence.values())


async def people_notice(incident_id: int) -> PeopleNotice:
    conn = connections.get("default")
    rows = await query(conn, _DELIVERIES, [incident_id, NoticeKind.SUBJECT_NOTICE.value])
    by_status = {str(row["status"]): row for row in rows}
    sent = by_status.get(DeliveryStatus.SENT.value)
    channels = await Campaign.filter(
        incident_id=incident_id, kind=NoticeKind.SUBJECT_NOTICE
    ).values_list("channels", flat=True)
    pending = sum(
        int(by_status[s.value]["n"])
        for s in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
        if s.value in by_status
    )
    failed = by_status.get(DeliveryStatus.FAILED.value)
    return PeopleNotice(
        sent=int(sent["n"]) if sent else 0,
        failed=int(failed["n"]) if failed else 0,
        pending=pending,
        first_sent_at=as_utc(sent["first"]) if sent else None,
        last_sent_at=as_utc(sent["last"]) if sent else None,
        channels=tuple(sorted({str(c) for row in channels for c in (row or [])})) if sent else (),
    )


async def obligation_decisions(incident_id: int) -> list[Decision]:
    """Obligations recorded as met or declined, with the reference or reason and who."""
    rows = await ObligationRecord.filter(incident_id=incident_id).order_by("at", "key")
    return [
        Decision(
            at=row.at,
            actor=row.recorded_by,
            what=f"{row.kind} {row.key}"
            + (f" (reference {row.reference})" if row.reference else ""),
            reason=row.reason or row.late_reason or "",
            rule=row.key,
        )
        for row in rows
    ]


async def decisions(ref: str) -> tuple[tuple[Decision, ...], tuple[str, ...]]:
    """Decisions about the incident from the audit log, and the reasons notices were held."""
    found: list[Decision] = []
    holds: list[str] = []
    for link in await audit.events(incident_ref=ref):
        what = DECISION_ACTIONS.get(link.action)
        if what is None:
            continue
        details = _details(link.details)
        reason = str(details.get("reason") or details.get("reference") or "")
        if link.action == "incident.status":
            what = f"status {details.get('old')} -> {details.get('new')}"
        if link.action == "campaign.held" and reason:
            holds.append(reason)
        found.append(Decision(as_utc(link.at), link.actor, what, reason))
    return tuple(found), tuple(dict.fromkeys(holds))


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def load(
    incident: Incident,
    settings: Settings,
    recorded: IncidentFacts | None = None,
    locale: str = "en",
) -> ReportFacts:
    """Everything the report builders read about ``incident`` (``recorded``: the facts the
    obligations engine was given, read again when not passed; the free texts as recorded in
    ``locale``, else along its fallback chain to ``en``)."""
    if recorded is None:
        recorded = await gather_facts(incident, settings)
    by_category, by_residence, people = await counts(incident.id)
    found, holds = await decisions(incident.ref)
    found += tuple(await obligation_decisions(incident.id))
    return ReportFacts(
        ref=incident.ref,
        title=incident.title,
        summary=incident.summary,
        severity=str(incident.severity.value),
        status=str(incident.status.value),
        discovered_at=incident.discovered_at,
        organisation=organisation(settings),
        clocks={str(kind.value): at for kind, at in recorded.clocks.items()},
        flags=dict(recorded.flags),
        law_enforcement_delay_until=recorded.law_enforcement_delay_until,
        occurred_from=incident.occurred_from,
        occurred_to=incident.occurred_to,
        systems=tuple(incident.systems or ()),
        categories=tuple(incident.categories or ()),
        texts=localised_texts(incident.texts or {}, locale),
        affected_resolved=incident.affected_resolved_at is not None,
        people=people,
        by_category=by_category,
        by_residence=by_residence,
        regulator_notified_at=incident.regulator_notified_at,
        regulator_reference=incident.regulator_reference,
        notice=await people_notice(incident.id),
        holds=holds,
        decisions=found,
    )
