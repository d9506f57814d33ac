"""`exercise report`: how the rehearsal went, on the exercise clock.

Each obligation the engine (services/obligations, domain/compliance) computes for the
exercise's incident at the moment the exercise ended (or now, while it runs): when it was
due, when it was met, and the verdict; the time from awareness to the first notice sent; the
injects and when they fired; and what was never done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from incident_svc.config import Settings
from incident_svc.domain.compliance import Obligation
from incident_svc.domain.compliance.vocabulary import ClockKind, Status
from incident_svc.domain.enums import CampaignStatus
from incident_svc.models import AuditEvent, Banner, BounceReport, Campaign, Delivery
from incident_svc.services.exercises.injects import ACTION as INJECT_ACTION
from incident_svc.services.exercises.registry import Exercise
from incident_svc.services.obligations.compute import obligations_for


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600.0, 2)


def verdict(obligation: Obligation, now: datetime) -> str:
    """Pure: met, met late, missed, open, declined or not applicable, at ``now``."""
    if obligation.status is Status.NOT_APPLICABLE:  # a decision not to notify lands here too
        return "declined" if obligation.decided_by else "not applicable"
    if obligation.met_at is not None or obligation.status is Status.MET:
        return "met late" if obligation.met_late else "met"
    if obligation.status is Status.LATE:
        return "missed"
    if obligation.due_at is not None and obligation.due_at <= now:
        return "missed"
    return "open"


def obligation_row(obligation: Obligation, now: datetime, aware: datetime) -> dict[str, Any]:
    return {
        "key": obligation.key,
        "regime": obligation.rule.regime,
        "jurisdiction": obligation.place,
        "recipient": obligation.recipient,
        "due_at": _iso(obligation.due_at),
        "met_at": _iso(obligation.met_at),
        "verdict": verdict(obligation, now),
        "hours_from_awareness_to_met": _hours(aware, obligation.met_at),
        "due_hours_after_awareness": _hours(aware, obligation.due_at),
    }


async def build(exercise: Exercise, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """The report (plain values), read from the open exercise database at exercise time ``now``."""
    computed = await obligations_for(ref=exercise.incident_ref, settings=settings, at=now)
    incident = computed.incident
    aware = computed.facts.clocks.get(ClockKind.AWARE, incident.discovered_at)
    rows = [obligation_row(o, now, aware) for o in computed.obligations]
    first = (
        await Delivery.filter(campaign__incident_id=incident.id, sent_at__not_isnull=True)
        .order_by("sent_at")
        .first()
        .values("sent_at")
    )
    first_sent = first["sent_at"] if first else None
    sent = await Delivery.filter(
        campaign__incident_id=incident.id, sent_at__not_isnull=True
    ).count()
    campaigns = await Campaign.filter(incident_id=incident.id).values("id", "kind", "status")
    banners = await Banner.filter(incident_id=incident.id).count()
    personal = await Banner.filter(incident_id=incident.id, subject_id__not_isnull=True).count()
    bounced = await BounceReport.filter(delivery__campaign__incident_id=incident.id).count()
    injects = await AuditEvent.filter(action=INJECT_ACTION).order_by("seq").values("details")
    clock = exercise.clock()
    return {
        "exercise": exercise.name,
        "incident": incident.ref,
        "speed": exercise.speed,
        "started_at": exercise.started_at.isoformat(),
        "ended": exercise.ended_at is not None,
        "exercise_time": now.isoformat(),
        "exercise_hour": round(clock.hour(now), 2),
        "aware_at": aware.isoformat(),
        "first_notice_at": _iso(first_sent),
        "hours_from_awareness_to_first_notice": _hours(aware, first_sent),
        "notices_sent": sent,
        "bounces": bounced,
        "banners": banners,
        "campaigns": [
            {"id": c["id"], "kind": str(c["kind"]), "status": str(c["status"])} for c in campaigns
        ],
        "injects": [_inject_row(row["details"]) for row in injects],
        "obligations": rows,
        "never_done": never_done(
            rows,
            resolved=incident.affected_resolved_at is not None,
            sent=sent,
            campaigns=[str(c["status"]) for c in campaigns],
            banners=banners,
            bounced=bounced,
            substitutes=personal,
        ),
    }


def _inject_row(details: Any) -> dict[str, Any]:
    import json

    data = json.loads(details) if isinstance(details, str) else dict(details)
    return {k: data.get(k) for k in ("hour", "kind", "summary", "not_recorded") if k in data}


def never_done(
    rows: list[dict[str, Any]],
    *,
    resolved: bool,
    sent: int,
    campaigns: list[str],
    banners: int,
    bounced: int,
    substitutes: int = 0,
) -> list[str]:
    """Pure: one line per thing the team never did."""
    lines: list[str] = []
    if not resolved:
        lines.append("the affected list was never resolved (incident affected)")
    if not campaigns:
        lines.append("no notice campaign was created")
    elif CampaignStatus.COMPLETED.value not in campaigns:
        lines.append("no notice campaign completed")
    if not sent:
        lines.append("no notice was sent")
    if not banners:
        lines.append("no banner was published")
    if bounced > substitutes:  # a substitute notice is a personal banner (docs/bounces.md)
        lines.append(
            f"{bounced - substitutes} bounced notices have no substitute notice "
            "(bounces substitute)"
        )
    for row in rows:
        if row["verdict"] in ("missed", "open"):
            lines.append(
                f"obligation {row['key']} ({row['regime']}, {row['recipient']}) was never met"
                + (f" (due {row['due_at']})" if row["due_at"] else "")
            )
    return lines
