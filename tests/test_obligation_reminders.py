"""When obligations are reminded: pure table tests (percentages, offsets, no backlog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident_svc.domain.obligation_reminders import (
    Countdown,
    Policy,
    due_reminders,
    next_due,
    reminders_for,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = Policy(percents=(50, 75, 90, 100), offsets_hours=(24, 4))


def countdown(
    incident_id: int = 1, *, hours: float = 72, by_offsets: bool = False, key: str = "tx-ag"
) -> Countdown:
    return Countdown(
        incident_id=incident_id,
        ref=f"INC-2026-000{incident_id}",
        key=key,
        recipient="the Texas attorney general",
        citation="Tex. Bus. & Com. Code 521.053",
        clock_at=T0,
        due_at=T0 + hours * H,
        by_offsets=by_offsets,
    )


def test_percentages_of_the_window_earliest_first() -> None:
    # a 30-day window: 15 days, 22.5 days, 27 days, and the due time itself
    reminders = reminders_for(countdown(hours=30 * 24), POLICY)
    assert [(r.threshold, r.at) for r in reminders] == [
        ("50%", T0 + 360 * H),
        ("75%", T0 + 540 * H),
        ("90%", T0 + 648 * H),
        ("due", T0 + 720 * H),
    ]


def test_offsets_before_the_due_time_for_the_regulator_rows() -> None:
    reminders = reminders_for(countdown(by_offsets=True), Policy(offsets_hours=(4, 24)))
    assert [(r.threshold, r.at) for r in reminders] == [("24h", T0 + 48 * H), ("4h", T0 + 68 * H)]


def test_an_offset_beyond_the_window_is_due_at_the_clock_start() -> None:
    reminders = reminders_for(countdown(hours=2, by_offsets=True), Policy(offsets_hours=(24, 1)))
    assert [r.at for r in reminders] == [T0, T0 + H]


def test_a_window_that_is_already_over_is_reminded_when_due() -> None:
    late = Countdown(1, "INC-2026-0001", "k", "x", "c", T0 + 5 * H, T0, by_offsets=False)
    assert [(r.threshold, r.at) for r in reminders_for(late, POLICY)] == [("due", T0)]


@pytest.mark.parametrize(
    ("now", "sent", "expected"),
    [
        (T0 + 35 * H, set(), []),  # nothing due before half the window
        (T0 + 36 * H, set(), ["50%"]),  # exactly at 50 %
        (T0 + 40 * H, {(1, "tx-ag", "50%")}, []),  # already sent
        (T0 + 54 * H, {(1, "tx-ag", "50%")}, ["75%"]),
        (T0 + 65 * H, set(), ["90%"]),  # after an outage: only the latest, not a backlog
        (T0 + 70 * H, {(1, "tx-ag", "90%")}, []),  # the latest was sent; earlier never follow
        (T0 + 72 * H, {(1, "tx-ag", "90%")}, ["due"]),  # when it falls due
        (T0 + 99 * H, {(1, "tx-ag", "due")}, []),  # once: no reminder after the due one
    ],
)
def test_due_reminders(now: datetime, sent: set[tuple[int, str, str]], expected: list[str]) -> None:
    due = due_reminders([countdown()], now=now, policy=POLICY, sent=sent)
    assert [r.threshold for r in due] == expected


def test_due_reminders_per_obligation() -> None:
    first = countdown(1)
    other = countdown(2, hours=48, by_offsets=True, key="uk-gdpr-33-ico")
    due = due_reminders([first, other], now=T0 + 37 * H, policy=POLICY)
    assert [(r.countdown.key, r.threshold) for r in due] == [
        ("tx-ag", "50%"),
        ("uk-gdpr-33-ico", "24h"),
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (T0, T0 + 36 * H),
        (T0 + 36 * H, T0 + 54 * H),  # strictly after
        (T0 + 64.8 * H, T0 + 72 * H),
        (T0 + 72 * H, None),
    ],
)
def test_next_due(after: datetime, expected: datetime | None) -> None:
    assert next_due([countdown()], after=after, policy=POLICY) == expected


def test_configured_thresholds_only() -> None:
    reminders = reminders_for(countdown(hours=10), Policy(percents=(80,)))
    assert [(r.threshold, r.at) for r in reminders] == [("80%", T0 + 8 * H)]
