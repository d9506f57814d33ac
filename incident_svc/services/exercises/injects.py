"""Apply a scenario's injects whose exercise hour has come, once each.

Which injects were applied is read from the exercise's own audit log (``exercise.inject``,
target the inject's number), so catching up is idempotent and survives restarts: any command
run against an exercise catches up first, and `exercise run` does it every second. An inject
changes the exercise database through the same services the team's commands use:

- ``affected_grows``: more people hold data in the incident's systems (the team sees them at
  the next `incident affected`);
- ``relay_outage``: the mail sink cannot be reached for its hours (the relay fence, on the
  exercise clock); the event only records that it began;
- ``bounces``: RFC 3464 reports for notices already sent, through `bounces` ingestion;
- ``law_enforcement_hold``: a law-enforcement delay fact, which the obligations engine reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.enums import DeliveryStatus
from incident_svc.domain.exercise_clock import ExerciseClock
from incident_svc.domain.exercise_scenario import Inject, Scenario
from incident_svc.models import AuditEvent, Delivery, Incident
from incident_svc.services.auditlog import audit, audit_key
from incident_svc.services.bounce import bounces
from incident_svc.services.exercises import seeding
from incident_svc.services.incident import incidents
from incident_svc.services.obligations import facts

ACTION = "exercise.inject"
ACTOR = "exercise"


@dataclass(frozen=True)
class Applied:
    inject: Inject
    summary: str


async def applied_numbers() -> set[int]:
    rows = await AuditEvent.filter(action=ACTION).values_list("target_id", flat=True)
    return {int(str(value)) for value in rows if str(value).isdigit()}


def due(scenario: Scenario, hour: float, done: set[int]) -> list[Inject]:
    """Pure: the injects at or before ``hour`` not applied yet, in order."""
    return [i for i in scenario.injects if i.hour <= hour and i.index not in done]


async def catch_up(
    *, scenario: Scenario | None, ref: str, clock: ExerciseClock, settings: Settings
) -> list[Applied]:
    """Apply every due inject (the exercise database is open, the clock installed). An inject
    applied late (nobody ran a command at its hour) takes effect as of its own hour."""
    if scenario is None:
        return []
    done: list[Applied] = []
    for inject in due(scenario, clock.hour(), await applied_numbers()):
        at = clock.moment_of(inject.hour)
        details = await _apply(inject, ref=ref, settings=settings, at=at)
        await _mark(inject, ref=ref, details=details, settings=settings)
        done.append(Applied(inject, details["summary"]))
    return done


async def _mark(inject: Inject, *, ref: str, details: dict[str, Any], settings: Settings) -> None:
    async with write_transaction() as conn:
        await audit.record(
            conn,
            actor=ACTOR,
            action=ACTION,
            target_type="exercise_inject",
            target_id=str(inject.index),
            details={"incident": ref, "kind": inject.kind, "hour": inject.hour, **details},
            key=audit_key.resolve(settings).key,
        )


async def _apply(inject: Inject, *, ref: str, settings: Settings, at: datetime) -> dict[str, Any]:
    incident = await incidents.get(ref=ref)
    note = {"note": inject.note} if inject.note else {}
    if inject.kind == "affected_grows":
        return note | await _grow(inject, incident)
    if inject.kind == "relay_outage":
        return note | {
            "summary": f"the relay cannot be reached for {inject.hours:g} exercise hours",
            "hours": inject.hours,
        }
    if inject.kind == "bounces":
        return note | await _bounce(inject, incident, settings)
    return note | await _hold(inject, incident, settings, at)


async def _grow(inject: Inject, incident: Incident) -> dict[str, Any]:
    places = inject.jurisdictions or tuple(sorted({"GB", "US-CA", "HK"}))
    async with write_transaction() as conn:
        refs = await seeding.add_people(conn, incident=incident, count=inject.count, places=places)
    return {"summary": f"{len(refs)} more people hold data in the breached systems",
            "people": len(refs)}  # fmt: skip


async def _bounce(inject: Inject, incident: Incident, settings: Settings) -> dict[str, Any]:
    rows = (
        await Delivery.filter(campaign__incident_id=incident.id, status=DeliveryStatus.SENT)
        .order_by("id")
        .limit(inject.count)
        .values("id", "address", "message_id")
    )
    recorded = 0
    refused: list[str] = []
    for row in rows:
        result = await bounces.ingest_report(
            dsn(row["address"], row["message_id"] or "", serial=int(row["id"])),
            source=f"exercise inject {inject.index}",
            settings=settings,
            actor=ACTOR,
        )
        recorded += result.status == "recorded"
        if result.status != "recorded":
            refused.append(f"delivery {row['id']}: {result.status} ({result.reason})")
    summary = f"{recorded} bounce reports arrived ({inject.count} scripted)"
    return {"summary": summary, "bounces": recorded, "not_recorded": refused}


async def _hold(
    inject: Inject, incident: Incident, settings: Settings, at: datetime
) -> dict[str, Any]:
    until = at + timedelta(hours=inject.hours)
    await facts.set_facts(
        ref=incident.ref,
        actor=ACTOR,
        key=audit_key.resolve(settings).key,
        reason=f"exercise inject {inject.index}: {inject.authority} asks to delay notice",
        law_enforcement_delay_until=until,
    )
    return {
        "summary": f"{inject.authority} asks to delay notice until {until.isoformat()}",
        "until": until.isoformat(),
        "authority": inject.authority,
    }


def dsn(recipient: str, message_id: str, *, serial: int) -> bytes:
    """A standard delivery-status report (RFC 3464) for one notice: a mailbox that is gone."""
    boundary = f"exercise-{serial}"
    text = f"""From: MAILER-DAEMON@mx.drill.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"
Message-Id: <exercise-bounce-{serial}@mx.drill.example.com>

--{boundary}
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered (an exercise inject).

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.drill.example.com

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown

--{boundary}
Content-Type: text/rfc822-headers

To: {recipient}
Message-ID: {message_id}

--{boundary}--
"""
    return text.replace("\n", "\r\n").encode("utf-8")
