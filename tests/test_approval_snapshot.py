"""Approval binds a frozen snapshot: each change after approval is refused, with nothing sent.

Every attack runs against the real database of the run (SQLite or PostgreSQL) and a real
aiosmtpd server; the notices are composed by the real composer.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings, load_settings
from incident_svc.config_sources import approval_policy
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError
from incident_svc.models import (
    Account,
    AuditEvent,
    Campaign,
    CampaignRecipient,
    Delivery,
    Exposure,
    Subject,
)
from incident_svc.resources import builtin_templates_dir, default_config_file
from incident_svc.services.delivery import (
    approval_snapshot,
    campaign_start,
    campaign_views,
    campaigns,
)
from incident_svc.services.incident import incidents as incident_service
from tests.support import sending
from tests.support.people import address, make_incident
from tests.support.signers import approve_signed, create_signed
from tests.support.smtpd import SmtpServer, smtp_server

APPROVER = "bob"


def relay_settings(settings_for: Any, url: str, server: SmtpServer, **extra: Any) -> Settings:
    smtp = {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}
    return settings_for(url, smtp=smtp, **extra)  # type: ignore[no-any-return]


async def approved(settings: Settings, subjects: int = 4) -> Campaign:
    """A campaign created by alice under the settings' policy and approved by bob (two SSH
    keys: tests/support/signers.py)."""
    await make_incident(subjects)
    campaign = await create_signed(by="alice", approval=approval_policy(settings))
    await approve_signed(settings, campaign.id, by=APPROVER)
    return await campaigns.get(campaign.id)


async def events(action: str, campaign_id: int) -> list[dict[str, Any]]:
    found = await AuditEvent.filter(action=action, target_id=str(campaign_id)).order_by("seq")
    return [json.loads(event.details) for event in found]


async def assert_refused(
    settings: Settings, campaign: Campaign, server: SmtpServer, names: str
) -> None:
    """Sending is refused naming ``names``; the campaign is a draft again; both are audited."""
    digest = campaign.approval_digest
    with pytest.raises(ConflictError) as info:
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
    message = str(info.value)
    assert names in message and "\n" not in message
    assert "needs a new approval" in message
    assert server.received == []
    after = await campaigns.get(campaign.id)
    assert after.status is CampaignStatus.DRAFT
    assert (after.approved_by, after.approval_digest) == (None, None)
    [refused] = await events("campaign.start_refused", campaign.id)
    assert names in refused["changed"] and refused["approval_digest"] == digest
    [back] = await events("campaign.returned_to_draft", campaign.id)
    assert back["reason"] == refused["changed"]
    assert await events("campaign.started", campaign.id) == []


def plain_text(data: bytes) -> str:
    message = BytesParser(policy=policy.default).parsebytes(data)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_digest_is_shown_audited_and_what_an_approver_reviews(
    db_conn: str, settings: Settings
) -> None:
    await make_incident(3)
    draft = await create_signed(by="alice")
    snapshot, before = await approval_snapshot.current_approval_snapshot(draft.id, settings)
    assert snapshot["audience"]["count"] == 3 and snapshot["campaign"] == draft.id
    assert {t["name"] for t in snapshot["templates"]} >= {
        "email/subject_notice/en/subject.j2",
        "email/_shared/layout.html.j2",
        "labels/en.toml",
    }
    assert snapshot["settings"]["mail_from"] == settings.mail_from
    await approve_signed(settings, draft.id, by=APPROVER)
    shown = await campaign_views.show(draft.id)
    assert shown["approval_digest"] == before and len(before) == 64
    [event] = await events("campaign.approved", draft.id)
    assert event["approval_digest"] == before
    assert (await approval_snapshot.current_approval_snapshot(draft.id, settings))[1] == before


async def test_approval_switched_off_by_environment_is_refused(
    db_conn: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_incident(3)
    draft = await campaigns.create(
        incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice", key=None,
        approval=approval_policy(settings),
    )  # fmt: skip
    monkeypatch.setenv("INCIDENT_SVC_APPROVAL__REQUIRED", "false")
    async with smtp_server() as server:
        relaxed = load_settings(
            overrides={"database_url": db_conn, "smtp": {"host": server.host, "port": server.port}}
        )
        assert relaxed.approval.required is False
        with pytest.raises(ConflictError, match="not approved"):
            await sending.send_now(campaign_id=draft.id, settings=relaxed, actor="alice")
        with pytest.raises(ConflictError, match="not approved"):
            await campaigns.schedule(
                campaign_id=draft.id, at=None, actor="alice", key=None, settings=relaxed
            )
        assert server.received == []
    assert (await campaigns.get(draft.id)).status is CampaignStatus.DRAFT
    created = (await events("campaign.created", draft.id))[0]["approval"]
    assert created == {"required": True, "source": f"default file {default_config_file()}"}


async def test_scheduled_while_approval_was_off_needs_approval_once_it_is_on_again(
    db_conn: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCIDENT_SVC_APPROVAL__REQUIRED", "false")
    relaxed = load_settings(overrides={"database_url": db_conn})
    await make_incident(2)
    draft = await campaigns.create(
        incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice", key=None,
        approval=approval_policy(relaxed),
    )  # fmt: skip
    await campaigns.schedule(
        campaign_id=draft.id, at=utcnow(), actor="alice", key=None, settings=relaxed
    )
    assert settings.approval.required is True  # approval is on again
    with pytest.raises(ConflictError, match="scheduled while approval was off"):
        await campaign_start.start(
            campaign_id=draft.id, now=utcnow(), actor="alice", key=None, settings=settings
        )
    after = await campaigns.get(draft.id)
    assert after.status is CampaignStatus.DRAFT and after.approved_at is None
    assert await Delivery.filter(campaign_id=draft.id).count() == 0
    [refused] = await events("campaign.start_refused", draft.id)
    assert "scheduled without one" in refused["changed"]
    assert await events("campaign.returned_to_draft", draft.id)
    assert not await events("campaign.started", draft.id)


async def test_starting_without_approval_is_audited_with_the_settings_source(
    db_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCIDENT_SVC_APPROVAL__REQUIRED", "false")
    await make_incident(2)
    async with smtp_server() as server:
        relaxed = load_settings(
            overrides={"database_url": db_conn, "smtp": {"host": server.host, "port": server.port}}
        )
        draft = await campaigns.create(
            incident_ref="INC-2026-0001", kind="subject_notice", at=None, actor="alice",
            key=None, approval=approval_policy(relaxed),
        )  # fmt: skip
        await sending.send_now(campaign_id=draft.id, settings=relaxed, actor="alice")
        assert len(server.received) == 2
    [event] = await events("campaign.approval_not_required", draft.id)
    assert event["settings_source"] == "environment variable INCIDENT_SVC_APPROVAL__REQUIRED"
    assert event["created_under"] == {
        "required": False,
        "source": "environment variable INCIDENT_SVC_APPROVAL__REQUIRED",
    }
    assert event["approved_by"] is None
    [started] = await events("campaign.started", draft.id)
    assert started["approval_digest"] == (await campaigns.get(draft.id)).approval_digest


async def test_text_changed_after_approval_is_refused(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        campaign = await approved(settings)
        await incident_service.update(
            ref="INC-2026-0001", actor="alice", key=None, changes={},
            texts={"en": {"what_happened": "Reset your password at http://phish.example"}},
        )  # fmt: skip
        await assert_refused(settings, campaign, server, "incident texts.en.what_happened changed")


async def test_text_changed_after_the_start_is_not_what_is_sent(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server, delivery={"batch_size": 1})
        campaign = await approved(settings, subjects=2)
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=settings
        )
        await incident_service.update(
            ref="INC-2026-0001", actor="alice", key=None, changes={"title": "Phish"},
            texts={"en": {"what_happened": "Reset your password at http://phish.example"}},
        )  # fmt: skip
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
        texts = [plain_text(m.data) for m in server.received]
    assert len(texts) == 2
    assert all("phish.example" not in text and "Phish" not in text for text in texts)
    assert any("A storage bucket holding contact details" in text for text in texts)


async def test_template_file_changed_after_approval_is_refused(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    templates = tmp_path / "tpl"
    shutil.copytree(builtin_templates_dir(), templates)
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server, templates_dir=str(templates))
        campaign = await approved(settings)
        body = templates / "email/subject_notice/en/body.txt.j2"
        body.write_text(body.read_text() + "\nVisit http://phish.example\n", encoding="utf-8")
        await assert_refused(
            settings, campaign, server, "template email/subject_notice/en/body.txt.j2 changed"
        )


async def test_template_changed_while_sending_stops_the_campaign_on_resume(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    templates = tmp_path / "tpl"
    shutil.copytree(builtin_templates_dir(), templates)
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server, templates_dir=str(templates))
        campaign = await approved(settings)
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=settings
        )
        (templates / "email/subject_notice/en/subject.j2").write_text("Urgent: act now\n")
        with pytest.raises(ConflictError, match=r"subject\.j2 changed"):
            await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
        assert server.received == []
    assert (await campaigns.get(campaign.id)).status is CampaignStatus.DRAFT
    assert len(await events("campaign.returned_to_draft", campaign.id)) == 1


async def test_an_operator_override_added_after_approval_is_refused(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    templates = tmp_path / "tpl"
    templates.mkdir()
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server, templates_dir=str(templates))
        campaign = await approved(settings)
        override = templates / "email/subject_notice/en/subject.j2"
        override.parent.mkdir(parents=True)
        override.write_text("Your account is locked\n", encoding="utf-8")
        await assert_refused(
            settings, campaign, server, "template email/subject_notice/en/subject.j2 changed"
        )


async def test_audience_grown_after_approval_is_refused(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        campaign = await approved(settings, subjects=3)
        incident = await campaign.incident
        extra = await Subject.create(
            external_ref="S-EXTRA", email="extra@example.org", name="Extra", jurisdiction="GB"
        )
        await Exposure.create(incident_id=incident.id, subject_id=extra.id, categories=["contact"])
        await assert_refused(settings, campaign, server, "1 recipient(s) added (first S-EXTRA)")


async def test_audience_shrunk_after_approval_is_refused(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        campaign = await approved(settings, subjects=3)
        gone = await Subject.get(external_ref="S-1")
        await Exposure.filter(subject_id=gone.id).delete()
        await assert_refused(settings, campaign, server, "1 recipient(s) removed (first S-1)")


async def test_an_address_changed_after_approval_is_refused_then_reapproved(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        campaign = await approved(settings, subjects=3)
        await Subject.filter(external_ref="S-2").update(email="attacker@evil.example")
        await assert_refused(settings, campaign, server, "changed address or locale (first S-2)")
        again = await approve_signed(settings, campaign.id, by=APPROVER)
        assert again.approval_digest not in (None, campaign.approval_digest)
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
        recipients = sorted(m.recipient for m in server.received)
    assert recipients == sorted([address(0), address(1), "attacker@evil.example"])


async def test_a_setting_that_enters_the_message_changed_is_refused(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        campaign = await approved(relay_settings(settings_for, db_conn, server))
        changed = relay_settings(
            settings_for, db_conn, server, org={"website_url": "http://phish.example"}
        )
        await assert_refused(changed, campaign, server, "settings org.website_url changed")


async def test_hold_schedule_release_and_cancel_keep_the_digest(
    db_conn: str, settings: Settings
) -> None:
    campaign = await approved(settings)
    digest = campaign.approval_digest
    at = utcnow() + timedelta(hours=3)
    await campaigns.schedule(campaign_id=campaign.id, at=at, actor="a", key=None, settings=settings)
    await campaigns.hold(
        campaign_id=campaign.id, until=at, reason="police request 9", actor="a", key=None
    )
    await campaigns.release(campaign_id=campaign.id, actor="a", key=None)
    assert (await campaigns.get(campaign.id)).approval_digest == digest
    assert (await approval_snapshot.current_approval_snapshot(campaign.id, settings))[1] == digest
    assert (await campaigns.get(campaign.id)).status is CampaignStatus.SCHEDULED
    await campaigns.cancel(campaign_id=campaign.id, actor="a", key=None)
    assert (await campaigns.get(campaign.id)).approval_digest == digest


async def test_start_due_returns_a_changed_campaign_to_draft_and_starts_the_others(
    db_conn: str, settings: Settings
) -> None:
    changed = await approved(settings, subjects=2)
    await make_incident(2, ref="INC-2026-0002", first=10)
    other = await create_signed("INC-2026-0002", by="alice")
    await approve_signed(settings, other.id, by=APPROVER)
    now = utcnow()
    for campaign_id in (changed.id, other.id):
        await campaigns.schedule(
            campaign_id=campaign_id, at=now, actor="a", key=None, settings=settings
        )
    await Subject.filter(external_ref="S-0").update(locale="fr")
    started = await campaign_start.start_due(now=now, actor="scheduler", settings=settings)
    assert started == [other.id]
    assert (await campaigns.get(changed.id)).status is CampaignStatus.DRAFT
    assert await campaign_start.start_due(now=now, actor="scheduler", settings=settings) == []


async def test_a_tampered_frozen_audience_is_refused(db_conn: str, settings_for: Any) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        campaign = await approved(settings, subjects=3)
        await CampaignRecipient.filter(campaign_id=campaign.id, recipient_ref="S-1").update(
            address="attacker@evil.example"
        )
        await Subject.filter(external_ref="S-1").update(email="attacker@evil.example")
        await assert_refused(settings, campaign, server, "frozen audience")


async def test_a_campaign_stopped_mid_run_follows_its_new_approval(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    templates = tmp_path / "tpl"
    shutil.copytree(builtin_templates_dir(), templates)
    subject = templates / "email/subject_notice/en/subject.j2"
    original = subject.read_text(encoding="utf-8")
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server, templates_dir=str(templates))
        campaign = await approved(settings, subjects=3)
        await campaign_start.start(
            campaign_id=campaign.id, now=utcnow(), actor="alice", key=None, settings=settings
        )
        subject.write_text("Urgent: act now\n", encoding="utf-8")
        with pytest.raises(ConflictError):
            await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a")
        subject.write_text(original, encoding="utf-8")
        await Subject.filter(external_ref="S-1").update(email="new1@example.org")
        gone = await Subject.get(external_ref="S-2")
        await Exposure.filter(subject_id=gone.id).delete()
        await approve_signed(settings, campaign.id, by=APPROVER)
        counts = await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
        recipients = sorted(m.recipient for m in server.received)
    assert recipients == sorted([address(0), "new1@example.org"])
    assert (counts["sent"], counts["cancelled"]) == (2, 1)
    assert (await campaigns.get(campaign.id)).status is CampaignStatus.COMPLETED


async def test_an_account_holder_address_changed_after_approval_is_refused(
    db_conn: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        settings = relay_settings(settings_for, db_conn, server)
        await make_incident(4, accounts=2)
        campaign = await create_signed(kind="account_holder_notice", by="alice")
        await approve_signed(settings, campaign.id, by=APPROVER)
        campaign = await campaigns.get(campaign.id)
        assert campaign.audience_count == 2
        await Account.filter(account_ref="ACC-1").update(holder_email="attacker@evil.example")
        await assert_refused(settings, campaign, server, "changed address or locale (first ACC-1)")
