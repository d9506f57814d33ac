"""Webhook events reach the same ingestion as mailed reports: a real campaign sent with
return paths, then the providers' bounces and complaints about it, through serve's app."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from incident_svc.config import Settings
from incident_svc.domain.enums import DeliveryOutcome, EmailStatus
from incident_svc.models import BounceReport, Delivery, Subject
from incident_svc.runtime.wiring import open_parts
from incident_svc.service_status import ServiceStatus
from incident_svc.services.bounce.bounce_sources.ingest_port import default_ingest
from tests.support import sending
from tests.support.campaign_setup import scheduled_campaign
from tests.support.server import serving
from tests.support.smtpd import smtp_server
from tests.support.webhook_keys import SendgridSigner, SnsSigner, mailgun_body, sns_notification
from tests.support.webhooks import bench, webhook_overrides

SENDGRID = SendgridSigner.make()
BOUNCES = {"domain": "bounces.example.com", "token_secret": "webhook-test-token-secret-0123456789"}


async def sent(settings_for: Any, db: str) -> tuple[Settings, dict[str, tuple[str, str]]]:
    """Send a 3-person campaign; each recipient's (envelope sender, Message-ID)."""
    async with smtp_server() as smtpd:
        overrides = webhook_overrides(SENDGRID)
        overrides["bounces"].update(BOUNCES)
        smtp = {"host": smtpd.host, "port": smtpd.port, "timeout": 5.0, "pool_size": 2}
        settings: Settings = settings_for(db, smtp=smtp, **overrides)
        campaign = await scheduled_campaign(settings, subjects=3, at=None)
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
    ids = {d.address: str(d.message_id) for d in await Delivery.all()}
    return settings, {m.recipient: (m.sender, ids[m.recipient]) for m in smtpd.received}


async def test_mailgun_and_sendgrid_through_serve_mark_deliveries(
    db_conn: str, settings_for: Any
) -> None:
    settings, messages = await sent(settings_for, db_conn)
    hard, soft, complains = sorted(messages)
    async with open_parts(settings) as parts:
        app = parts.web_app(ServiceStatus(), False)
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            failed = {
                "event": "failed", "severity": "permanent", "recipient": hard, "id": "mg-1",
                "message": {"headers": {"message-id": messages[hard][1].strip("<>")}},
                "envelope": {"sender": messages[hard][0]},
                "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "description": "No such user"},
            }  # fmt: skip
            body = mailgun_body(failed, int(time.time()), "tok-hard")
            response = await client.post("/v1/webhooks/mailgun", content=body)
            assert response.json()["outcomes"] == {"recorded": 1}, response.text
            delayed = {**failed, "severity": "temporary", "recipient": soft,
                       "envelope": {"sender": messages[soft][0]},
                       "message": {"headers": {"message-id": messages[soft][1]}},
                       "delivery-status": {"enhanced-code": "4.2.2"}}  # fmt: skip
            body = mailgun_body(delayed, int(time.time()), "tok-soft")
            assert (await client.post("/v1/webhooks/mailgun", content=body)).status_code == 200
            # SendGrid gives no envelope sender: the Message-ID and recipient map it
            events = json.dumps(
                [{"email": complains, "event": "spamreport", "smtp-id": messages[complains][1]}]
            )
            headers = SENDGRID.headers(events.encode(), int(time.time()))
            response = await client.post("/v1/webhooks/sendgrid", content=events, headers=headers)
            assert response.json()["outcomes"] == {"recorded": 1}, response.text
    outcomes = {d.address: d.outcome for d in await Delivery.all()}
    assert outcomes == {
        hard: DeliveryOutcome.BOUNCED,
        soft: DeliveryOutcome.DELAYED,
        complains: DeliveryOutcome.COMPLAINED,
    }
    statuses = {s.email: s.email_status for s in await Subject.all()}
    assert statuses[hard] is EmailStatus.BOUNCED
    assert statuses[soft] is EmailStatus.OK  # a 4.x.x never marks the address
    assert statuses[complains] is EmailStatus.OK  # a complaint never stops security notices
    assert {r.source for r in await BounceReport.all()} == {"webhook:mailgun", "webhook:sendgrid"}


async def test_ses_bounce_maps_by_its_return_path(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    settings, messages = await sent(settings_for, db_conn)
    target = sorted(messages)[0]
    sender, message_id = messages[target]
    signer = SnsSigner.make()
    ses = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": target, "status": "5.1.1"}],
        },
        "mail": {"source": sender, "commonHeaders": {"messageId": message_id}},
    }
    async with bench(settings, tmp_path, signer, SENDGRID, ingest=default_ingest(settings)) as b:
        message = signer.sign(sns_notification(json.dumps(ses), f"{b.sns.url}/cert.pem"))
        response = await b.client.post("/v1/webhooks/ses", content=json.dumps(message))
        assert response.json()["outcomes"] == {"recorded": 1}, response.text
        # a forged return path (a token that does not verify) is refused by the ingestion
        forged = {**ses, "mail": {"source": sender.replace("+d", "+d9")}}
        message = signer.sign(sns_notification(json.dumps(forged), f"{b.sns.url}/cert.pem", "m-2"))
        response = await b.client.post("/v1/webhooks/ses", content=json.dumps(message))
        assert response.json()["outcomes"] == {"refused": 1}, response.text
    [report] = await BounceReport.all()
    assert (report.matched_by, report.status, report.source) == ("verp", "5.1.1", "webhook:ses")
    assert (await Delivery.get(address=target)).outcome is DeliveryOutcome.BOUNCED
