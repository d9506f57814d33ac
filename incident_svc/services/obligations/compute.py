"""Gather one incident's facts from the database and run the obligations engine on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings
from incident_svc.domain.compliance import (
    ClockKind,
    Fulfilment,
    IncidentFacts,
    Obligation,
    Rule,
    compute_obligations,
)
from incident_svc.domain.times import utcnow
from incident_svc.models import Incident, IncidentFact, ObligationRecord
from incident_svc.services.incident import incidents
from incident_svc.services.obligations.facts import DELAY
from incident_svc.services.obligations.residence import (
    Census,
    census,
)


@dataclass(frozen=True)
class Computed:
    """Every obligation of one incident at ``now``, with the facts they were computed from."""

    incident: Incident
    facts: IncidentFacts
    obligations: list[Obligation]
    now: datetime

    def find(self, key: str) -> Obligation | None:
        return next((o for o in self.obligations if o.key == key), None)


async def obligations_for(
    *,
    ref: str,
    settings: Settings,
    at: datetime | None = None,
    rules: Sequence[Rule] | None = None,
) -> Computed:
    """The incident's obligations at ``at`` (default now), from the configured rules."""
    incident = await incidents.get(ref=ref)
    chosen = load_rules(settings) if rules is None else rules
    counted = await census(incident.id)
    facts = await gather_facts(incident, settings, counted)
    now = at or utcnow()
    found = compute_obligations(
        chosen,
        facts,
        now=now,
        fulfilments=await fulfilments_of(incident.id),
        reach=counted.reach,
    )
    return Computed(incident, facts, found, now)


async def gather_facts(
    incident: Incident, settings: Settings, counted: Census | None = None
) -> IncidentFacts:
    """What the rules test: recorded facts, categories, sectors and residents by residence.

    ``aware`` falls back to the incident's ``discovered_at``, which `incident create`
    records as "when we became aware"; every other clock starts only when recorded.
    ``counted`` is the census already taken (else it is taken here).
    """
    if counted is None:
        counted = await census(incident.id)
    rows = await IncidentFact.filter(incident_id=incident.id)
    clocks: dict[ClockKind, datetime] = {ClockKind.AWARE: incident.discovered_at}
    flags: dict[str, bool] = {}
    delay = None
    for row in rows:
        if row.name == DELAY:
            delay = row.at
        elif row.at is not None:
            clocks[ClockKind(row.name)] = row.at
        elif row.value is not None:
            flags[row.name] = row.value
    return IncidentFacts(
        ref=incident.ref,
        clocks=clocks,
        categories=frozenset(incident.categories or []),
        flags=flags,
        sectors=frozenset(settings.compliance.sectors),
        residents=counted.residents,
        law_enforcement_delay_until=delay,
        eu_main_establishment=settings.compliance.eu_main_establishment,
    )


async def fulfilments_of(incident_id: int) -> list[Fulfilment]:
    rows = await ObligationRecord.filter(incident_id=incident_id)
    return [
        Fulfilment(
            key=row.key,
            kind="declined" if row.kind == "declined" else "met",
            at=row.at,
            by=row.recorded_by,
            reference=row.reference,
            late_reason=row.late_reason,
            reason=row.reason,
            evidence_sha256=row.evidence_sha256,
        )
        for row in rows
    ]
