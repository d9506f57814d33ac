"""Window edges, audience rules and locale negotiation, as plain tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incident_svc.domain.banner_rules import (
    BannerCard,
    is_active,
    negotiate,
    next_change,
    parse_accept_language,
    visible_to,
)
from incident_svc.domain.enums import BannerAudience
from incident_svc.domain.feed_tokens import Viewer

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def card(**changes: object) -> BannerCard:
    fields: dict[str, object] = {
        "id": 1,
        "audience": BannerAudience.PUBLIC,
        "severity": "warning",
        "texts": {"en": {"title": "t", "body": "b"}},
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=1),
    }
    fields.update(changes)
    return BannerCard(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (T0 - US, False),
        (T0, True),  # the start is inclusive
        (T0 + timedelta(minutes=59, seconds=59, microseconds=999999), True),
        (T0 + timedelta(hours=1), False),  # the end is exclusive
    ],
)
def test_window_edges(now: datetime, active: bool) -> None:
    assert is_active(card(), now) is active


def test_open_ended_and_withdrawn_windows() -> None:
    open_ended = card(ends_at=None)
    assert is_active(open_ended, T0 + timedelta(days=999))
    withdrawn = card(ends_at=None, withdrawn_at=T0 + timedelta(minutes=5))
    assert is_active(withdrawn, T0 + timedelta(minutes=5) - US)
    assert not is_active(withdrawn, T0 + timedelta(minutes=5))


def test_next_change_is_the_nearest_future_edge() -> None:
    cards = [card(), card(id=2, starts_at=T0 + timedelta(minutes=10), ends_at=None)]
    assert next_change(cards, T0) == T0 + timedelta(minutes=10)
    assert next_change(cards, T0 + timedelta(minutes=10)) == T0 + timedelta(hours=1)
    assert next_change(cards, T0 + timedelta(hours=2)) is None


SUBJECTS = card(audience=BannerAudience.AFFECTED_SUBJECTS, subject_refs=frozenset({"P-1", "P-2"}))
ACCOUNTS = card(
    audience=BannerAudience.AFFECTED_ACCOUNTS,
    account_refs=frozenset({"ACME"}),
    subject_refs=frozenset({"P-1", "P-3"}),  # every member of ACME
)


@pytest.mark.parametrize(
    ("banner", "viewer", "visible"),
    [
        (card(), None, True),
        (card(), Viewer("subject", "anyone"), True),
        (SUBJECTS, None, False),
        (SUBJECTS, Viewer("subject", "P-1"), True),
        (SUBJECTS, Viewer("subject", "P-9"), False),
        (SUBJECTS, Viewer("account", "P-1"), False),  # a reference of the wrong kind
        (ACCOUNTS, Viewer("account", "ACME"), True),
        (ACCOUNTS, Viewer("account", "GLOBEX"), False),  # an unaffected account
        (ACCOUNTS, Viewer("subject", "P-3"), True),  # a member of an affected account
        (ACCOUNTS, Viewer("subject", "P-4"), False),  # a person of an unaffected account
        (ACCOUNTS, Viewer("subject", "ACME"), False),
    ],
)
def test_audience_rules(banner: BannerCard, viewer: Viewer | None, visible: bool) -> None:
    assert visible_to(banner, viewer) is visible


def test_accept_language_orders_by_quality_then_position() -> None:
    header = "fr;q=0.5, zh-Hant-HK, en;q=0.8, de;q=0, *;q=0.1, bad tag!"
    assert parse_accept_language(header) == ["zh-Hant-HK", "en", "fr"]
    assert parse_accept_language(None) == []
    assert parse_accept_language("en;q=abc") == []


@pytest.mark.parametrize(
    ("wanted", "available", "chosen"),
    [
        (["zh-Hant-HK"], ["en", "zh-Hant"], "zh-Hant"),
        (["zh-HK"], ["en", "zh-Hant"], "zh-Hant"),  # Hong Kong implies Traditional script
        (["zh-TW"], ["en", "zh-Hant-HK"], "zh-Hant-HK"),  # same language and script
        (["zh-CN"], ["en", "zh-Hant"], "en"),  # never Traditional for a Simplified reader
        (["zh-Hant-HK"], ["en", "zh-Hant-HK"], "zh-Hant-HK"),
        (["en-GB"], ["en", "zh-Hant"], "en"),
        (["fr", "zh"], ["en", "zh-Hant"], "zh-Hant"),
        (["fr"], ["en", "zh-Hant"], "en"),  # the default
        (["fr"], ["zh-Hant"], "zh-Hant"),  # no default available: what there is
        ([], ["EN"], "EN"),
        (["en"], [], None),
    ],
)
def test_locale_negotiation(wanted: list[str], available: list[str], chosen: str | None) -> None:
    assert negotiate(wanted, available, "en") == chosen
