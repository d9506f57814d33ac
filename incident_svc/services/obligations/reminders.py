"""Remind the security team of every open obligation with a fixed due time, by email and log.

What is reminded (services/obligations/obligation_countdowns.py) and when (domain/obligation_reminders.py):
each obligation at 50 %, 75 % and 90 % of its window and when it falls due; the GDPR and UK
GDPR rows 24 and 4 hours before the due time, as the single regulator reminder always did;
an incident whose affected list is not resolved yet, at the same offsets before awareness +
72 hours.

Each reminder is recorded (``ObligationReminder``, unique per incident, obligation and
threshold) in the same transaction as its audit event, and that transaction stays open while
the email is handed to SMTP: either both happen or neither does. A second service process
trying the same reminder waits on the unique key and then finds it taken. A crash after the
relay accepted the message and before the commit can repeat one reminder (RFC 1047), never
lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.exceptions import IntegrityError

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.obligation_reminders import (
    Countdown,
    Policy,
    Reminder,
    SentKey,
    due_reminders,
    next_due,
)
from incident_svc.domain.pseudonym import keyed_hash
from incident_svc.mail.internal_message import InternalMessage, internal_message
from incident_svc.models import ObligationReminder, ReminderSent
from incident_svc.services.auditlog import audit, retention_key
from incident_svc.services.obligations.obligation_countdowns import LEGACY_KEY, countdowns

log = logging.getLogger(__name__)

SendEmail = Callable[[InternalMessage], Awaitable[object]]
ACTOR = "service:reminders"


def policy(settings: Settings) -> Policy:
    rules = settings.reminders
    return Policy(
        percents=tuple(rules.thresholds_percent), offsets_hours=tuple(rules.offsets_hours)
    )


async def sent_keys(incident_ids: list[int]) -> set[SentKey]:
    """Reminders already sent, including the regulator reminders of earlier versions."""
    rows = await ObligationReminder.filter(incident_id__in=incident_ids).values_list(
        "incident_id", "key", "threshold"
    )
    old = await ReminderSent.filter(incident_id__in=incident_ids).values_list(
        "incident_id", "offset_hours"
    )
    return {(int(i), str(k), str(t)) for i, k, t in rows} | {
        (int(i), LEGACY_KEY, f"{float(o):g}h") for i, o in old
    }


async def next_reminder_at(*, now: datetime, settings: Settings) -> datetime | None:
    """When the next reminder is due: ``now`` if one is due already, else the earliest later."""
    found = await countdowns(settings=settings, now=now, cached=True)
    sent = await sent_keys(sorted({c.incident_id for c in found}))
    if due_reminders(found, now=now, policy=policy(settings), sent=sent):
        return now
    return next_due(found, after=now, policy=policy(settings))


async def send_due(
    *, now: datetime, settings: Settings, send: SendEmail, key: bytes | None = None
) -> list[Reminder]:
    """Send every reminder due at ``now`` that has not gone out; return those sent here."""
    found = await countdowns(settings=settings, now=now)
    sent = await sent_keys(sorted({c.incident_id for c in found}))
    done = []
    for reminder in due_reminders(found, now=now, policy=policy(settings), sent=sent):
        if await _send_one(reminder, now, settings, send, key):
            done.append(reminder)
    return done


async def _send_one(
    reminder: Reminder, now: datetime, settings: Settings, send: SendEmail, key: bytes | None
) -> bool:
    countdown = reminder.countdown
    message = reminder_email(reminder, now=now, settings=settings)
    try:
        async with write_transaction() as conn:
            await ObligationReminder.create(
                using_db=conn,
                incident_id=countdown.incident_id,
                key=countdown.key,
                threshold=reminder.threshold,
                due_at=countdown.due_at,
                sent_at=now,
            )
            await send(message)
            await audit.record(
                conn,
                actor=ACTOR,
                action="incident.reminder_sent",
                target_type="incident",
                target_id=countdown.ref,
                details=_details(reminder, now, settings, message),
                key=key,
            )
    except IntegrityError:
        log.info("reminder %s of %s was sent by another process", reminder.sent_key, countdown.ref)
        return False
    log.warning(
        "REMINDER %s: %s due %s, %.1f h left (%s); emailed %s",
        countdown.ref,
        countdown.key,
        countdown.due_at.isoformat(timespec="minutes"),
        hours_left(countdown, now),
        reminder.threshold,
        settings.security_team_email,
    )
    return True


def hours_left(countdown: Countdown, now: datetime) -> float:
    return (countdown.due_at - now).total_seconds() / 3600


def _to_hmac(settings: Settings) -> str | None:
    key = retention_key.resolve(settings).key
    return keyed_hash(key, settings.security_team_email) if key else None


def _details(
    reminder: Reminder, now: datetime, settings: Settings, message: InternalMessage
) -> dict[str, object]:
    countdown = reminder.countdown
    return {
        "incident": countdown.ref,
        "obligation": countdown.key,
        "threshold": reminder.threshold,
        "deadline": countdown.due_at.isoformat(),
        "due_at": reminder.at.isoformat(),
        "hours_left": round(hours_left(countdown, now), 2),
        # the setting, not the address: audit events hold no addresses (docs/retention.md)
        "to": "security_team_email",
        "to_hmac": _to_hmac(settings),
        "message_id": message.message_id,
    }


def _left(countdown: Countdown, now: datetime) -> str:
    left = hours_left(countdown, now)
    if left >= 0.5:
        return f"{left:.0f} h left"
    return "due now" if left > -0.5 else f"{-left:.0f} h late"


def reminder_email(reminder: Reminder, *, now: datetime, settings: Settings) -> InternalMessage:
    """The reminder as a well-formed email to the security team (mail/internal_message.py)."""
    countdown = reminder.countdown
    ref, deadline = countdown.ref, countdown.due_at.isoformat(timespec="minutes")
    what = "regulator deadline" if countdown.key == LEGACY_KEY else f"{countdown.key} due"
    left = hours_left(countdown, now)
    return internal_message(
        settings,
        kind="reminder",
        at=now,
        subject=f"[{ref}] {what} {deadline} ({_left(countdown, now)})",
        text=(
            f"Incident {ref}: {countdown.recipient} must be told ({countdown.citation}).\n\n"
            f"Obligation: {countdown.key} ({countdown.status}; reminder at {reminder.threshold})\n"
            f"Due: {deadline}\n"
            f"Time left: {left:.1f} hours\n\n"
            f"{_how_to_record(countdown)}"
        ),
    )


def _how_to_record(countdown: Countdown) -> str:
    ref = countdown.ref
    if countdown.key == LEGACY_KEY:
        return (
            "No regulator notification is recorded, and the affected list is not resolved, so\n"
            "the laws that apply are not known yet. When the regulator has been told, record it:\n\n"
            f"    incident-svc incident regulator-notified {ref} --at TIME --reference TEXT\n\n"
            f"Resolve the affected list to see every obligation: incident-svc incident affected {ref}\n"
        )
    return (
        "When it has been met, record it:\n\n"
        f"    incident-svc incident obligation-met {ref} {countdown.key} --at TIME --reference TEXT\n\n"
        f"Every obligation: incident-svc incident obligations {ref}\n"
    )
