"""When the security team is reminded of an open obligation. Pure.

Every open obligation with a fixed due time is a :class:`Countdown` from its clock start to
its due time. It is reminded at fractions of that window (``50%``, ``75%``, ``90%`` and
``due`` at 100 %, configurable), or, for the rows that keep the regulator reminder's old
behaviour (GDPR and UK GDPR by default), at fixed hours before the due time (``24h``,
``4h``). Only the latest reminder that is due and not sent goes out: after an outage the team
needs one message saying how close the deadline is, not a backlog of stale ones, and an
earlier threshold never becomes the latest again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SentKey = tuple[int, str, str]  # (incident id, obligation key, threshold)


@dataclass(frozen=True)
class Countdown:
    """One open obligation with a fixed due time, as the reminders see it."""

    incident_id: int
    ref: str
    key: str  # the obligation key, or LEGACY_KEY
    recipient: str
    citation: str
    clock_at: datetime | None
    due_at: datetime
    by_offsets: bool  # remind at hours before the due time, not at fractions of the window
    status: str = "open"


@dataclass(frozen=True)
class Reminder:
    countdown: Countdown
    threshold: str  # "50%", "75%", "90%", "due", or "24h", "4h"
    at: datetime

    @property
    def sent_key(self) -> SentKey:
        return (self.countdown.incident_id, self.countdown.key, self.threshold)


@dataclass(frozen=True)
class Policy:
    percents: Sequence[float] = (50.0, 75.0, 90.0, 100.0)
    offsets_hours: Sequence[float] = (24.0, 4.0)


def percent_label(percent: float) -> str:
    return "due" if percent >= 100 else f"{percent:g}%"


def reminders_for(countdown: Countdown, policy: Policy) -> list[Reminder]:
    """Every reminder of one countdown, earliest first.

    A reminder that would fall before the clock started (an offset longer than the window)
    is due at the clock start instead, so a short deadline still gets its reminders.
    """
    due, start = countdown.due_at, countdown.clock_at
    if countdown.by_offsets:
        planned = [
            (f"{offset:g}h", due - timedelta(hours=offset))
            for offset in sorted(set(policy.offsets_hours), reverse=True)
            if offset >= 0
        ]
    elif start is None or start >= due:
        planned = [("due", due)] if any(p >= 100 for p in policy.percents) else []
    else:
        window = due - start
        planned = [
            (percent_label(p), start + window * (min(p, 100.0) / 100))
            for p in sorted(set(policy.percents))
            if p > 0
        ]
    floor = min(start, due) if start is not None else min((at for _, at in planned), default=due)
    reminders = [Reminder(countdown, label, max(at, floor)) for label, at in planned]
    return sorted(reminders, key=lambda r: r.at)


def due_reminders(
    countdowns: Iterable[Countdown],
    *,
    now: datetime,
    policy: Policy,
    sent: Collection[SentKey] = (),
) -> list[Reminder]:
    """The latest due reminder of each countdown, unless it went out already."""
    due: list[Reminder] = []
    for countdown in countdowns:
        ready = [r for r in reminders_for(countdown, policy) if r.at <= now]
        if ready and ready[-1].sent_key not in sent:
            due.append(ready[-1])
    return due


def next_due(
    countdowns: Iterable[Countdown], *, after: datetime, policy: Policy
) -> datetime | None:
    """The earliest reminder time strictly after ``after`` (for the scheduler's alarm)."""
    times = [
        reminder.at
        for countdown in countdowns
        for reminder in reminders_for(countdown, policy)
        if reminder.at > after
    ]
    return min(times, default=None)
