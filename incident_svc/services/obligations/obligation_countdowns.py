"""The open obligations with a fixed due time, of every incident: what reminders count down to.

An incident whose affected list is resolved gets its obligations from the engine
(services/obligations): each open or late one with a due time is a countdown. Rows of the
``reminders.offset_regimes`` (GDPR, UK GDPR) count down by hours before the due time, and a
supervisory-authority row among them also ends when `incident regulator-notified` is recorded,
as the single regulator reminder always did.

An incident whose affected list is not resolved yet has no residents, so no rule can say it
applies; it keeps the old regulator reminder (awareness + ``reminders.regulator_deadline_hours``)
until the regulator is told or the list is resolved, so the first hours are never unwatched.

The scheduler asks every poll and ``/metrics`` every scrape. The recorded facts (clock starts,
flags) and records (met, declined) are read afresh every time, so a clock start or an
obligation met or declined counts at the next tick. With ``cached=True`` only the census (the
one pass over the incident's exposures: residents and reach by residence, under a second at
1,000,000 people, BENCHMARKS.md) is kept for ``PLAN_SECONDS`` while the incident row and its
affected list are unchanged: notices reaching more people show in the plan and ``/metrics``
within that time. Sending always takes the census afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incident_svc.compliance_rules import load_rules
from incident_svc.config import Settings
from incident_svc.domain.compliance import Obligation, RecipientKind, Rule, compute_obligations
from incident_svc.domain.enums import IncidentStatus
from incident_svc.domain.obligation_reminders import Countdown
from incident_svc.models import Incident
from incident_svc.services.obligations.compute import fulfilments_of, gather_facts
from incident_svc.services.obligations.residence import Census, census

LEGACY_KEY = "regulator_deadline"
PLAN_SECONDS = 120.0
_Stamp = tuple[str, int, datetime, str | None]  # database, incident, updated_at, affected hash
_plans: dict[_Stamp, tuple[datetime, Census]] = {}


async def countdowns(*, settings: Settings, now: datetime, cached: bool = False) -> list[Countdown]:
    """Every countdown of every incident that is not dismissed."""
    found: list[Countdown] = []
    rules: tuple[Rule, ...] | None = None
    for incident in await Incident.exclude(status=IncidentStatus.DISMISSED).order_by("id"):
        if incident.affected_resolved_at is None:
            found += _legacy(incident, settings)
            continue
        rules = rules if rules is not None else load_rules(settings)
        obligations = await _obligations(incident, rules, settings, now, cached)
        found += [
            _countdown(incident, o, settings)
            for o in obligations
            if o.fixed and o.due_at is not None and not _told_by_old_command(incident, o, settings)
        ]
    return found


def _legacy(incident: Incident, settings: Settings) -> list[Countdown]:
    if incident.regulator_notified_at is not None:
        return []
    hours = settings.reminders.regulator_deadline_hours
    return [
        Countdown(
            incident_id=incident.id,
            ref=incident.ref,
            key=LEGACY_KEY,
            recipient="the supervisory authority",
            citation=f"GDPR Art. 33(1): awareness + {hours:g} h",
            clock_at=incident.discovered_at,
            due_at=incident.discovered_at + timedelta(hours=hours),
            by_offsets=True,
        )
    ]


def _by_offsets(obligation: Obligation, settings: Settings) -> bool:
    return obligation.rule.regime in settings.reminders.offset_regimes


def _told_by_old_command(incident: Incident, obligation: Obligation, settings: Settings) -> bool:
    return (
        incident.regulator_notified_at is not None
        and _by_offsets(obligation, settings)
        and obligation.rule.recipient_kind is RecipientKind.SUPERVISORY_AUTHORITY
    )


def _countdown(incident: Incident, obligation: Obligation, settings: Settings) -> Countdown:
    assert obligation.due_at is not None
    return Countdown(
        incident_id=incident.id,
        ref=incident.ref,
        key=obligation.key,
        recipient=obligation.recipient,
        citation=obligation.rule.citation,
        clock_at=obligation.clock_at,
        due_at=obligation.due_at,
        by_offsets=_by_offsets(obligation, settings),
        status=obligation.status.value,
    )


async def _obligations(
    incident: Incident, rules: tuple[Rule, ...], settings: Settings, now: datetime, cached: bool
) -> list[Obligation]:
    counted = await _census(incident, settings, now, cached)
    facts = await gather_facts(incident, settings, counted)
    return compute_obligations(
        rules,
        facts,
        now=now,
        fulfilments=await fulfilments_of(incident.id),
        reach=counted.reach,
    )


async def _census(incident: Incident, settings: Settings, now: datetime, cached: bool) -> Census:
    stamp: _Stamp = (
        settings.database_url,
        incident.id,
        incident.updated_at,
        incident.affected_hash,
    )
    hit = _plans.get(stamp) if cached else None
    if hit is not None and timedelta(0) <= now - hit[0] < timedelta(seconds=PLAN_SECONDS):
        return hit[1]
    counted = await census(incident.id)
    if len(_plans) > 1000:
        _plans.clear()
    _plans[stamp] = (now, counted)
    return counted


@dataclass(frozen=True)
class ObligationMetrics:
    """For /metrics: open and late obligations with a fixed due time, and the next due one."""

    open: int
    late: int
    next_due_seconds: float | None  # None when no open obligation has a due time


async def obligation_metrics(*, now: datetime, settings: Settings) -> ObligationMetrics:
    found = await countdowns(settings=settings, now=now, cached=True)
    waiting = [c.due_at for c in found if c.due_at > now]
    return ObligationMetrics(
        open=len(waiting),
        late=len(found) - len(waiting),
        next_due_seconds=(min(waiting) - now).total_seconds() if waiting else None,
    )
