"""The regulator deadline and its reminders: pure table tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident_svc.domain.deadlines import (
    Awareness,
    due_reminders,
    next_due,
    regulator_deadline,
    reminders_for,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def aware(incident_id: int = 1, *, notified: datetime | None = None) -> Awareness:
    return Awareness(incident_id=incident_id, discovered_at=T0, regulator_notified_at=notified)


def test_deadline_is_awareness_plus_hours() -> None:
    assert regulator_deadline(T0, 72) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_reminders_at_each_offset_earliest_first() -> None:
    reminders = reminders_for(aware(), deadline_hours=72, offsets_hours=[4, 24])
    assert [(r.offset_hours, r.due_at) for r in reminders] == [
        (24.0, T0 + 48 * H),
        (4.0, T0 + 68 * H),
    ]
    assert {r.deadline for r in reminders} == {T0 + 72 * H}


def test_offset_beyond_the_deadline_is_due_at_awareness() -> None:
    reminders = reminders_for(aware(), deadline_hours=2, offsets_hours=[24, 1])
    assert [r.due_at for r in reminders] == [T0, T0 + H]


def test_no_reminders_once_the_regulator_was_told() -> None:
    assert reminders_for(aware(notified=T0 + H), deadline_hours=72, offsets_hours=[24, 4]) == []


@pytest.mark.parametrize(
    ("now", "sent", "expected"),
    [
        (T0 + 47 * H, set(), []),  # nothing due yet
        (T0 + 48 * H, set(), [24.0]),  # exactly at the first offset
        (T0 + 50 * H, {(1, 24.0)}, []),  # already sent
        (T0 + 68 * H, {(1, 24.0)}, [4.0]),  # the second one
        (T0 + 69 * H, set(), [4.0]),  # after an outage: only the latest, not a backlog
        (T0 + 69 * H, {(1, 4.0)}, []),  # the latest was sent; the earlier never follows
        (T0 + 80 * H, set(), [4.0]),  # past the deadline, still unsent: still reminds
    ],
)
def test_due_reminders(now: datetime, sent: set[tuple[int, float]], expected: list[float]) -> None:
    due = due_reminders([aware()], now=now, deadline_hours=72, offsets_hours=[24, 4], sent=sent)
    assert [r.offset_hours for r in due] == expected


def test_due_reminders_per_incident() -> None:
    other = Awareness(incident_id=2, discovered_at=T0 - 24 * H, regulator_notified_at=None)
    told = Awareness(incident_id=3, discovered_at=T0 - 24 * H, regulator_notified_at=T0)
    due = due_reminders(
        [aware(), other, told], now=T0 + 48 * H, deadline_hours=72, offsets_hours=[24, 4]
    )
    assert [(r.incident_id, r.offset_hours) for r in due] == [(1, 24.0), (2, 4.0)]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (T0, T0 + 48 * H),
        (T0 + 48 * H, T0 + 68 * H),  # strictly after
        (T0 + 68 * H, None),
    ],
)
def test_next_due(after: datetime, expected: datetime | None) -> None:
    assert next_due([aware()], after=after, deadline_hours=72, offsets_hours=[24, 4]) == expected


def test_next_due_ignores_notified_incidents() -> None:
    assert next_due([aware(notified=T0)], after=T0, deadline_hours=72, offsets_hours=[24]) is None
