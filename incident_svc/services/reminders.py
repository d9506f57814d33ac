"""Remind the security team of the regulator deadline, once per offset, by email and log.

Each reminder is recorded (``ReminderSent``, unique per incident, kind and offset) in the
same transaction as its audit event, and that transaction stays open while the email is
handed to SMTP: either both happen or neither does. A second service process trying the
same reminder waits on the unique key and then finds it taken. A crash after the relay
accepted the message and before the commit can repeat one reminder (RFC 1047), never lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.exceptions import IntegrityError

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.deadlines import Awareness, Reminder, due_reminders, next_due
from incident_svc.domain.enums import IncidentStatus
from incident_svc.domain.pseudonym import keyed_hash
from incident_svc.mail.internal_message import InternalMessage, internal_message
from incident_svc.models import Incident, ReminderSent
from incident_svc.services import audit, retention_key

log = logging.getLogger(__name__)

SendEmail = Callable[[InternalMessage], Awaitable[object]]
ACTOR = "service:reminders"


async def open_incidents() -> tuple[list[Awareness], set[tuple[int, float]], dict[int, str]]:
    """Incidents still waiting for a regulator notification, reminders sent, and their refs."""
    rows = await Incident.filter(regulator_notified_at__isnull=True).exclude(
        status=IncidentStatus.DISMISSED
    )
    ids = [row.id for row in rows]
    sent = await ReminderSent.filter(incident_id__in=ids).values_list("incident_id", "offset_hours")
    awareness = [Awareness(row.id, row.discovered_at, row.regulator_notified_at) for row in rows]
    return awareness, {(int(i), float(o)) for i, o in sent}, {row.id: row.ref for row in rows}


async def next_reminder_at(*, now: datetime, settings: Settings) -> datetime | None:
    """When the next reminder is due: ``now`` if one is due already, else the earliest later."""
    awareness, sent, _ = await open_incidents()
    rules = settings.reminders
    if due_reminders(
        awareness,
        now=now,
        deadline_hours=rules.regulator_deadline_hours,
        offsets_hours=rules.offsets_hours,
        sent=sent,
    ):
        return now
    return next_due(
        awareness,
        after=now,
        deadline_hours=rules.regulator_deadline_hours,
        offsets_hours=rules.offsets_hours,
    )


async def send_due(
    *, now: datetime, settings: Settings, send: SendEmail, key: bytes | None = None
) -> list[Reminder]:
    """Send every reminder due at ``now`` that has not gone out; return those sent here."""
    awareness, sent, refs = await open_incidents()
    due = due_reminders(
        awareness,
        now=now,
        deadline_hours=settings.reminders.regulator_deadline_hours,
        offsets_hours=settings.reminders.offsets_hours,
        sent=sent,
    )
    done = []
    for reminder in due:
        if await _send_one(reminder, refs[reminder.incident_id], now, settings, send, key):
            done.append(reminder)
    return done


async def _send_one(
    reminder: Reminder,
    ref: str,
    now: datetime,
    settings: Settings,
    send: SendEmail,
    key: bytes | None,
) -> bool:
    message = reminder_email(reminder, ref=ref, now=now, settings=settings)
    try:
        async with write_transaction() as conn:
            await ReminderSent.create(
                using_db=conn,
                incident_id=reminder.incident_id,
                kind=reminder.kind,
                offset_hours=reminder.offset_hours,
                sent_at=now,
            )
            await send(message)
            await audit.record(
                conn,
                actor=ACTOR,
                action="incident.reminder_sent",
                target_type="incident",
                target_id=ref,
                details=_details(reminder, ref, now, settings, message),
                key=key,
            )
    except IntegrityError:
        log.info("reminder for %s (%sh) was sent by another process", ref, reminder.offset_hours)
        return False
    log.warning(
        "REMINDER %s: regulator deadline %s, %.1f h left, no notification recorded; emailed %s",
        ref,
        reminder.deadline.isoformat(timespec="minutes"),
        hours_left(reminder, now),
        settings.security_team_email,
    )
    return True


def hours_left(reminder: Reminder, now: datetime) -> float:
    return (reminder.deadline - now).total_seconds() / 3600


def _to_hmac(settings: Settings) -> str | None:
    key = retention_key.resolve(settings).key
    return keyed_hash(key, settings.security_team_email) if key else None


def _details(
    reminder: Reminder, ref: str, now: datetime, settings: Settings, message: InternalMessage
) -> dict[str, object]:
    return {
        "incident": ref,
        "kind": reminder.kind,
        "offset_hours": reminder.offset_hours,
        "deadline": reminder.deadline.isoformat(),
        "due_at": reminder.due_at.isoformat(),
        "hours_left": round(hours_left(reminder, now), 2),
        # the setting, not the address: audit events hold no addresses (docs/retention.md)
        "to": "security_team_email",
        "to_hmac": _to_hmac(settings),
        "message_id": message.message_id,
    }


def reminder_email(
    reminder: Reminder, *, ref: str, now: datetime, settings: Settings
) -> InternalMessage:
    """The reminder as a well-formed email to the security team (mail/internal_message.py)."""
    left = hours_left(reminder, now)
    deadline = reminder.deadline.isoformat(timespec="minutes")
    return internal_message(
        settings,
        kind="reminder",
        at=now,
        subject=f"[{ref}] regulator deadline {deadline} ({left:.0f} h left)",
        text=(
            f"Incident {ref}: no regulator notification is recorded.\n\n"
            f"Deadline: {deadline} (awareness + {settings.reminders.regulator_deadline_hours:g} h)\n"
            f"Time left: {left:.1f} hours\n\n"
            "When the regulator has been told, record it:\n\n"
            f"    incident-svc incident regulator-notified {ref} --at TIME --reference TEXT\n"
        ),
    )
