"""The banner service against a real database: publish, withdraw, proof of posting, bounces."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import BannerAudience, BannerSeverity, EmailStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import AuditEvent, Banner, Subject
from incident_svc.services.auditlog import audit
from incident_svc.services.bounce import substitute
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest, ServeTally
from incident_svc.services.website.banners import notices_text_source as text_source
from tests.support.banner_data import make_world


async def _publish(settings: Settings, **changes: Any) -> Banner:
    fields: dict[str, Any] = {"incident_ref": "INC-2026-0007", "audience": BannerAudience.PUBLIC}
    fields.update(changes)
    return await banners.publish(
        request=PublishRequest(**fields),
        actor="alice",
        settings=settings,
        key=None,
        texts=text_source(),
    )


async def _actions() -> list[str]:
    return [e.action for e in await AuditEvent.all().order_by("seq")]


async def test_publish_renders_every_locale_in_use_and_is_audited(
    db_conn: str, settings: Settings
) -> None:
    await make_world()
    banner = await _publish(settings, severity=BannerSeverity.CRITICAL, link="https://x.test/n")
    assert sorted(banner.texts) == ["en", "zh-Hant"]  # the default and the affected reader's
    source = text_source()
    assert banner.content_hashes == {
        loc: source.content_hash(text) for loc, text in banner.texts.items()
    }
    [event] = await audit.events()
    assert (event.action, event.actor, event.target_id) == (
        "banner.published",
        "alice",
        str(banner.id),
    )
    assert json.loads(event.details)["incident"] == "INC-2026-0007"
    assert (await audit.verify(key=None)).intact


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"link": "javascript:alert(1)"}, "link"),
        ({"link": "https://x.test/a\r\nSet-Cookie: a=b"}, "link"),
        ({"starts_at": utcnow(), "ends_at": utcnow() - timedelta(hours=1)}, "until"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    db_conn: str, settings: Settings, changes: dict[str, Any], field: str
) -> None:
    await make_world()
    with pytest.raises(ValidationError) as caught:
        await _publish(settings, **changes)
    assert caught.value.field == field
    assert await Banner.all().count() == 0
    assert await AuditEvent.all().count() == 0


async def test_unknown_incident_is_not_found(db_conn: str, settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="INC-2099-0001"):
        await _publish(settings, incident_ref="INC-2099-0001")


async def test_withdraw_records_who_and_why_once(db_conn: str, settings: Settings) -> None:
    await make_world()
    banner = await _publish(settings)
    done = await banners.withdraw(banner_id=banner.id, reason="resolved", actor="bob", key=None)
    assert done.withdrawn_by == "bob" and done.withdrawn_reason == "resolved"
    assert done.withdrawn_at is not None
    with pytest.raises(ConflictError, match="already withdrawn"):
        await banners.withdraw(banner_id=banner.id, reason="again", actor="bob", key=None)
    with pytest.raises(ValidationError, match="reason"):
        await banners.withdraw(banner_id=banner.id, reason=" ", actor="bob", key=None)
    assert await _actions() == ["banner.published", "banner.withdrawn"]
    assert await banners.load_cards(now=utcnow()) == []


async def test_serve_counts_add_up_and_first_serve_is_audited_once(
    db_conn: str, settings: Settings
) -> None:
    await make_world()
    banner = await _publish(settings)
    t1 = utcnow()
    t2, t3 = t1 + timedelta(seconds=5), t1 + timedelta(seconds=9)
    await banners.record_serves(tallies={banner.id: ServeTally(3, t1, t2)}, key=None)
    await banners.record_serves(tallies={banner.id: ServeTally(4, t2, t3)}, key=None)
    fresh = await Banner.get(id=banner.id)
    assert fresh.serve_count == 7
    assert fresh.first_served_at == t1 and fresh.last_served_at == t3
    assert await _actions() == ["banner.published", "banner.first_served"]
    # counting does not look like a banner change to the feed's snapshot
    assert fresh.updated_at == banner.updated_at


async def test_snapshot_cards_carry_the_audience(db_conn: str, settings: Settings) -> None:
    world = await make_world()
    await _publish(settings, audience=BannerAudience.AFFECTED_SUBJECTS)
    await _publish(settings, audience=BannerAudience.AFFECTED_ACCOUNTS)
    later = await _publish(settings, starts_at=utcnow() + timedelta(days=1))
    await _publish(
        settings, starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=1)
    )
    cards = {card.id: card for card in await banners.load_cards(now=utcnow())}
    subjects, accounts = (card for card in cards.values() if not card.is_public)
    assert subjects.subject_refs == {world.affected.external_ref} and not subjects.account_refs
    assert accounts.account_refs == {"ACME"}
    assert accounts.subject_refs == {world.affected.external_ref, world.colleague.external_ref}
    assert later.id in cards  # not active yet, but the feed must know it to start it on time
    assert len(cards) == 3  # the ended banner is left out


async def test_bounced_people_get_one_personal_banner(db_conn: str, settings: Settings) -> None:
    world = await make_world()
    source = text_source()
    assert await substitute.publish(settings=settings, key=None, texts=source) == []
    await Subject.filter(id=world.affected.id).update(email_status=EmailStatus.BOUNCED)
    await Subject.filter(id=world.stranger.id).update(
        email_status=EmailStatus.BOUNCED
    )  # not exposed
    created = await substitute.publish(settings=settings, key=None, texts=source)
    assert len(created) == 1
    banner = await Banner.get(id=created[0])
    assert banner.subject_id == world.affected.id  # type: ignore[attr-defined]
    assert await substitute.publish(settings=settings, key=None, texts=source) == []
    [card] = await banners.load_cards(now=utcnow())
    assert card.subject_refs == {world.affected.external_ref}
    assert await _actions() == ["banner.personal_published"]


async def test_concurrent_bounce_runs_create_each_personal_banner_once(
    db_conn: str, settings: Settings
) -> None:
    world = await make_world()
    await Subject.filter(id=world.affected.id).update(email_status=EmailStatus.BOUNCED)
    runs = [substitute.publish(settings=settings, key=None, texts=text_source()) for _ in range(3)]
    created = await asyncio.gather(*runs)
    assert sorted(len(c) for c in created) == [0, 0, 1]
    assert await Banner.filter(subject_id=world.affected.id).count() == 1
    assert await _actions() == ["banner.personal_published"]


async def test_locales_in_use_are_everyones_not_only_the_affected(
    db_conn: str, settings: Settings
) -> None:
    world = await make_world()
    await Subject.filter(id=world.stranger.id).update(locale="zh-Hans")  # not affected
    banner = await _publish(settings)
    assert sorted(banner.texts) == ["en", "zh-Hans", "zh-Hant"]


async def test_first_serve_is_found_by_its_incident(db_conn: str, settings: Settings) -> None:
    await make_world()
    banner = await _publish(settings)
    await banners.record_serves(tallies={banner.id: ServeTally(1, utcnow(), utcnow())}, key=None)
    found = await audit.events(incident_ref="INC-2026-0007")
    assert [link.action for link in found] == ["banner.published", "banner.first_served"]
    assert json.loads(found[-1].details)["incident"] == "INC-2026-0007"
