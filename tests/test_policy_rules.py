"""domain.policy: version labels and the effective date per person, as plain tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.domain.policy import (
    Basis,
    Effective,
    Evidence,
    calendar_days_after,
    check_version,
    effective,
)
from incident_svc.errors import ValidationError

PUBLISHED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BEFORE = PUBLISHED - timedelta(days=400)


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("joined", "material", "email", "banner", "expected"),
    [
        # new users are bound at once, whatever else happened
        (_at(5), True, None, None, Effective(_at(5), Basis.NEW_USER)),
        (PUBLISHED, True, _at(2), _at(1), Effective(PUBLISHED, Basis.NEW_USER)),
        # a minor change binds existing users at publication
        (BEFORE, False, None, None, Effective(PUBLISHED, Basis.MINOR)),
        # the earlier of 30 days after the e-mail and 30 days after the banner
        (BEFORE, True, _at(2), _at(1, 10), Effective(_at(31, 10), Basis.BANNER)),
        (BEFORE, True, _at(1, 9), _at(3), Effective(_at(31, 9), Basis.EMAIL)),
        (BEFORE, True, _at(2), None, Effective(datetime(2026, 4, 1, 9, tzinfo=UTC), Basis.EMAIL)),
        (BEFORE, True, None, _at(4), Effective(datetime(2026, 4, 3, 9, tzinfo=UTC), Basis.BANNER)),
        # no notice reached them yet: not bound
        (BEFORE, True, None, None, Effective(None, Basis.NONE)),
    ],
)
def test_effective_date(
    joined: datetime,
    material: bool,
    email: datetime | None,
    banner: datetime | None,
    expected: Effective,
) -> None:
    evidence = Evidence(PUBLISHED, joined, material, email, banner)
    assert effective(evidence) == expected


def test_thirty_calendar_days_keep_the_wall_clock_across_dst() -> None:
    # 09:00 in London on 10 March (GMT) -> 09:00 on 9 April (BST) = 08:00 UTC
    sent = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert calendar_days_after(sent, 30, "Europe/London") == datetime(2026, 4, 9, 8, tzinfo=UTC)
    assert calendar_days_after(sent, 30, "UTC") == datetime(2026, 4, 9, 9, tzinfo=UTC)
    # an unknown zone reads as UTC rather than failing
    assert calendar_days_after(sent, 30, "Mars/Olympus") == datetime(2026, 4, 9, 9, tzinfo=UTC)


def test_effective_is_never_before_the_evidence_plus_thirty_days() -> None:
    sent = datetime(2026, 10, 20, 23, 30, tzinfo=UTC)
    for zone in ("Asia/Hong_Kong", "America/Los_Angeles", "Europe/London", "UTC"):
        result = effective(Evidence(PUBLISHED, BEFORE, True, sent, None, zone))
        assert result.at is not None
        assert timedelta(days=29, hours=22) <= result.at - sent <= timedelta(days=30, hours=2)


@pytest.mark.parametrize("good", ["1", "2026-12", "v4.1", "A_b-c.9", "x" * 64])
def test_version_labels_accepted(good: str) -> None:
    assert check_version(good) == good


@given(st.text(max_size=100))
def test_hostile_version_labels_refused_in_one_line(text: str) -> None:
    try:
        assert check_version(text) == text
    except ValidationError as exc:
        assert "\n" not in str(exc) and "version" in str(exc)
        return
    assert 1 <= len(text) <= 64 and text.isascii() and "\n" not in text and text[0].isalnum()
