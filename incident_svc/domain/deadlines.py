"""When the regulator deadline falls, and when the security team is reminded of it. Pure.

GDPR Art. 33 (and the UK GDPR) give 72 hours from awareness to tell the supervisory
authority. An incident is aware from ``discovered_at``; reminders go out at each configured
offset before the deadline, once each, until a regulator notification is recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

REGULATOR_REMINDER = "regulator_deadline"


@dataclass(frozen=True)
class Reminder:
    """One reminder of one incident's deadline: due at ``due_at``, ``offset_hours`` before it."""

    incident_id: int
    offset_hours: float
    due_at: datetime
    deadline: datetime
    kind: str = REGULATOR_REMINDER


@dataclass(frozen=True)
class Awareness:
    """What the deadline rule needs to know about one incident."""

    incident_id: int
    discovered_at: datetime
    regulator_notified_at: datetime | None


def regulator_deadline(discovered_at: datetime, deadline_hours: float) -> datetime:
    """The moment by which the regulator must have been told."""
    return discovered_at + timedelta(hours=deadline_hours)


def reminders_for(
    incident: Awareness, *, deadline_hours: float, offsets_hours: Iterable[float]
) -> list[Reminder]:
    """Every reminder of an incident, earliest first; none once the regulator was notified.

    An offset larger than the deadline itself would fall before awareness: it is due at
    awareness instead, so that a short deadline still gets its reminders.
    """
    if incident.regulator_notified_at is not None:
        return []
    deadline = regulator_deadline(incident.discovered_at, deadline_hours)
    return [
        Reminder(
            incident_id=incident.incident_id,
            offset_hours=float(offset),
            due_at=max(deadline - timedelta(hours=offset), incident.discovered_at),
            deadline=deadline,
        )
        for offset in sorted(set(offsets_hours), reverse=True)
        if offset >= 0
    ]


def due_reminders(
    incidents: Iterable[Awareness],
    *,
    now: datetime,
    deadline_hours: float,
    offsets_hours: Iterable[float],
    sent: Collection[tuple[int, float]] = (),
) -> list[Reminder]:
    """Reminders due at ``now`` that were not sent yet (``sent`` holds (incident, offset)).

    Only the latest due reminder of an incident is returned: after a long outage the team
    needs one message saying how close the deadline is, not a backlog of stale ones. An
    earlier offset never becomes the latest again, so it is never sent afterwards either.
    """
    offsets = list(offsets_hours)
    due: list[Reminder] = []
    for incident in incidents:
        ready = [
            reminder
            for reminder in reminders_for(
                incident, deadline_hours=deadline_hours, offsets_hours=offsets
            )
            if reminder.due_at <= now
        ]
        if ready and (incident.incident_id, ready[-1].offset_hours) not in sent:
            due.append(ready[-1])
    return due


def next_due(
    incidents: Iterable[Awareness],
    *,
    after: datetime,
    deadline_hours: float,
    offsets_hours: Iterable[float],
) -> datetime | None:
    """The earliest reminder time strictly after ``after`` (for the scheduler's alarm)."""
    offsets = list(offsets_hours)
    times = [
        reminder.due_at
        for incident in incidents
        for reminder in reminders_for(
            incident, deadline_hours=deadline_hours, offsets_hours=offsets
        )
        if reminder.due_at > after
    ]
    return min(times, default=None)
