"""Substitute notice: people a notice bounced for, or never reached, get their personal banner
(served by the real HTTP feed to a token for them alone), the account holder's roll-up lists
them, and `campaign status` counts accepted / bounced / substituted."""

from __future__ import annotations

import email
import email.policy
import json
import time
from email.message import EmailMessage
from typing import Any

import httpx

from incident_svc.domain.enums import DeliveryStatus, NoticeKind
from incident_svc.domain.feed_tokens import mint
from incident_svc.models import Account, AuditEvent, Banner, Delivery, Subject
from incident_svc.notices.composer import ComposeItem, load_composer
from incident_svc.services.bounce import substitute
from incident_svc.services.bounce.bounces import ingest_report
from incident_svc.services.delivery import campaign_views
from incident_svc.web.app import create_app
from tests.support import bounce_reports as reports
from tests.support.feed import SECRET, feed_overrides
from tests.support.server import serving
from tests.support.smtpd import Reply, smtp_server
from tests.test_bounces import SECRET as BOUNCE_SECRET
from tests.test_bounces import sent_campaign, sent_messages


def _bearer(ref: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(SECRET, 'subject', ref, int(time.time()) + 600)}"}


async def test_bounced_and_failed_people_get_their_banner_and_the_roll_up(
    db_conn: str, database_url: str, settings_for: Any
) -> None:
    async with smtp_server() as server:
        smtp = {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}
        bounces = {"domain": "bounces.example.com", "token_secret": BOUNCE_SECRET}
        settings = settings_for(database_url, smtp=smtp, bounces=bounces, **feed_overrides())
        server.faults["person1@example.org"] = [Reply("550 5.1.1 no such user", at="rcpt")]
        campaign = await sent_campaign(settings, server, subjects=4)
    sent = await sent_messages(server)
    bounced = sorted(sent)[0]  # person0: accepted, then a report says it bounced
    assert (
        await ingest_report(reports.dsn(sent[bounced]), source="t", settings=settings)
    ).bad is False
    failed = await Delivery.get(address="person1@example.org")
    assert failed.status is DeliveryStatus.FAILED  # refused at the relay: never reached

    created = await substitute.publish(settings=settings, key=None, actor="ops")
    assert len(created) == 2
    assert await substitute.publish(settings=settings, key=None, actor="ops") == []
    [event] = await AuditEvent.filter(action="banner.personal_published")
    assert json.loads(event.details)["banners"] == 2
    assert json.loads(event.details)["deliveries_substituted"] == 2
    status = await campaign_views.status(campaign.id)
    assert (status["accepted"], status["bounced"], status["substituted"]) == (3, 1, 2)

    unreached = {
        (await Subject.get(email=bounced)).external_ref,
        (await Subject.get(email="person1@example.org")).external_ref,
    }
    app = create_app(settings=settings, manage_database=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for ref in ("S-0", "S-1", "S-2", "S-3"):
            response = await client.get("/v1/banners", headers=_bearer(ref))
            assert response.status_code == 200
            found = response.json()["banners"]
            if ref in unreached:
                [banner] = found
                assert banner["audience"] == "affected_subjects" and banner["title"]
                assert banner["id"] in created
            else:
                assert found == []  # reached people, and everyone without a token, see none
        assert (await client.get("/v1/banners")).json()["banners"] == []
    assert await Banner.filter(subject_id__isnull=False).count() == 2

    # the account holder's roll-up names the people of that account who were not reached
    person0 = await Subject.get(email=bounced).prefetch_related("account")
    account = person0.account
    assert isinstance(account, Account)
    composer = await load_composer(
        incident_id=campaign.incident.id, kind=NoticeKind.ACCOUNT_HOLDER_NOTICE, settings=settings
    )
    item = ComposeItem(10_000, None, account.id, account.holder_email, "en", "<h@example.com>")
    [message] = await composer.compose_batch([item])
    await composer.close()
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    text = body.get_content()
    assert "We could not reach 1 of them by email" in text and bounced in text
    assert "person2@example.org" in text  # listed among the affected, but reached
