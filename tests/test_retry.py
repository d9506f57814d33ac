"""The retry policy as plain tables: doubling, the cap, the jitter band, giving up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from incident_svc.domain.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=5, base_seconds=60.0, max_seconds=600.0)


@pytest.mark.parametrize(
    ("attempts", "draw", "expected"),
    [
        (1, 0.0, 30.0),  # half the base at the bottom of the band
        (1, 0.5, 45.0),
        (2, 0.0, 60.0),  # doubled
        (3, 0.0, 120.0),
        (4, 0.999, 479.76),  # 480 nominal, top of the band
        (5, 0.0, 300.0),  # nominal 960 capped at 600
        (50, 0.0, 300.0),  # the cap holds for huge exponents
        (1000, 0.5, 450.0),
    ],
)
def test_delay_table(attempts: int, draw: float, expected: float) -> None:
    assert POLICY.delay(attempts, draw=draw) == pytest.approx(expected)


def test_jitter_stays_in_band_and_spreads() -> None:
    rng = random.Random(7)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    waits = {POLICY.next_attempt_at(now, 3, rng=rng) - now for _ in range(200)}
    assert all(timedelta(seconds=120) <= w < timedelta(seconds=240) for w in waits)
    assert len(waits) > 150  # not one value for everybody


@pytest.mark.parametrize(("attempts", "gives_up"), [(1, False), (4, False), (5, True), (6, True)])
def test_gives_up_at_max_attempts(attempts: int, gives_up: bool) -> None:
    assert POLICY.gives_up_after(attempts) is gives_up


@pytest.mark.parametrize(("attempts", "draw"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_refuses_nonsense(attempts: int, draw: float) -> None:
    with pytest.raises(ValueError):
        POLICY.delay(attempts, draw=draw)


def test_zero_base_means_immediately() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=0.0, max_seconds=0.0)
    assert policy.delay(2, draw=0.9) == 0.0
