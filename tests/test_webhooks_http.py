"""Provider webhooks over real HTTP: signed requests made with test keys are taken in once;
forged, unsigned, stale and replayed ones are refused and change nothing."""

from __future__ import annotations

import email
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.models import WebhookReceipt
from tests.support.webhook_keys import (
    POSTMARK_PASSWORD,
    TOPIC,
    SendgridSigner,
    SnsSigner,
    basic,
    mailgun_body,
    ses_bounce,
    sns_notification,
    sns_time,
)
from tests.support.webhooks import Bench, bench, webhook_overrides

SIGNER = SnsSigner.make()
SENDGRID = SendgridSigner.make()


@pytest.fixture
async def hooks(db_conn: str, settings_for: Any, tmp_path: Path) -> AsyncIterator[Bench]:
    settings: Settings = settings_for(db_conn, **webhook_overrides(SENDGRID))
    async with bench(settings, tmp_path, SIGNER, SENDGRID) as b:
        yield b


def parts(raw: bytes) -> dict[str, Message]:
    """The report's parts by content type (delivery-status blocks flattened into one)."""
    report = email.message_from_bytes(raw)
    found: dict[str, Message] = {"report": report}
    for part in report.walk():
        found[part.get_content_type()] = part
    return found


def delivery_status(raw: bytes) -> dict[str, str]:
    part = parts(raw)["message/delivery-status"]
    fields: dict[str, str] = {}
    for block in part.get_payload():
        fields.update({k.lower(): v for k, v in block.items()})
    return fields


async def post_sns(hooks: Bench, message: dict[str, Any]) -> Any:
    return await hooks.client.post("/v1/webhooks/ses", content=json.dumps(message))


# --- SES through SNS -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
async def test_sns_bounce_signed_is_ingested_as_a_dsn(hooks: Bench, version: str) -> None:
    cert = f"{hooks.sns.url}/cert.pem"
    message = SIGNER.sign(sns_notification(ses_bounce("ann@example.org"), cert), version)
    response = await post_sns(hooks, message)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted", "events": 1, "outcomes": {"recorded": 1}}
    [(raw, source)] = hooks.recorder.reports
    assert source == "webhook:ses"
    status = delivery_status(raw)
    assert status["final-recipient"] == "rfc822; ann@example.org"
    assert status["action"] == "failed"
    assert status["status"] == "5.1.1"
    report = parts(raw)
    assert report["report"]["To"] == "<bounce+d42.abc@bounces.example.com>"
    assert report["report"].get_param("report-type") == "delivery-status"
    assert "Message-ID: <d42.c7@example.com>" in report["text/rfc822-headers"].get_payload()
    assert hooks.sns.visits == ["/cert.pem"]


async def test_sns_transient_bounce_is_delayed_4xx(hooks: Bench) -> None:
    body = ses_bounce("bo@example.org", permanent=False, status="4.2.2")
    message = SIGNER.sign(sns_notification(body, f"{hooks.sns.url}/cert.pem"))
    assert (await post_sns(hooks, message)).status_code == 200
    status = delivery_status(hooks.recorder.reports[0][0])
    assert (status["action"], status["status"]) == ("delayed", "4.2.2")


async def test_sns_forged_message_is_refused(hooks: Bench) -> None:
    cert = f"{hooks.sns.url}/cert.pem"
    message = SIGNER.sign(sns_notification(ses_bounce("ann@example.org"), cert))
    message["Message"] = ses_bounce("mallory@example.org")
    response = await post_sns(hooks, message)
    assert response.status_code == 403
    assert response.json() == {"error": "field 'Signature': sns: bad signature"}
    other = SnsSigner.make()  # a valid signature by a key that is not the certificate's
    forged = other.sign(sns_notification(ses_bounce("ann@example.org"), cert, "m-2"))
    assert (await post_sns(hooks, forged)).status_code == 403
    assert hooks.recorder.reports == []
    assert await WebhookReceipt.all().count() == 0


async def test_sns_replay_is_refused(hooks: Bench) -> None:
    message = SIGNER.sign(
        sns_notification(ses_bounce("ann@example.org"), f"{hooks.sns.url}/cert.pem")
    )
    assert (await post_sns(hooks, message)).status_code == 200
    again = await post_sns(hooks, message)
    assert again.status_code == 409
    assert len(hooks.recorder.reports) == 1


async def test_sns_stale_message_is_refused(hooks: Bench) -> None:
    old = sns_time(datetime.now(UTC) - timedelta(hours=2))
    cert = f"{hooks.sns.url}/cert.pem"
    message = SIGNER.sign(sns_notification(ses_bounce("a@example.org"), cert, Timestamp=old))
    response = await post_sns(hooks, message)
    assert response.status_code == 403
    assert "window" in response.json()["error"]
    assert hooks.recorder.reports == []


@pytest.mark.parametrize(
    "cert_url",
    [
        "http://127.0.0.1:1/cert.pem",  # not https
        "https://localhost:{port}/cert.pem",  # not an allowed host
        "https://127.0.0.1:{port}/cert.txt",  # not a certificate path
        "https://user@127.0.0.1:{port}/cert.pem",  # credentials in the URL
    ],
)
async def test_sns_certificate_from_elsewhere_is_never_fetched(hooks: Bench, cert_url: str) -> None:
    port = hooks.sns.url.rsplit(":", 1)[1]
    message = SIGNER.sign(sns_notification(ses_bounce("a@example.org"), cert_url.format(port=port)))
    response = await post_sns(hooks, message)
    assert response.status_code == 403
    assert hooks.sns.visits == []
    assert hooks.recorder.reports == []


async def test_sns_unknown_topic_is_refused_before_any_fetch(hooks: Bench) -> None:
    cert = f"{hooks.sns.url}/cert.pem"
    message = SIGNER.sign(sns_notification("{}", cert, TopicArn=TOPIC.replace("bounces", "other")))
    assert (await post_sns(hooks, message)).status_code == 403
    assert hooks.sns.visits == []


def confirmation(hooks: Bench, subscribe_url: str) -> dict[str, Any]:
    return SIGNER.sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "sub-1",
            "Token": "tok-123",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": subscribe_url,
            "Timestamp": sns_time(),
            "SigningCertURL": f"{hooks.sns.url}/cert.pem",
        },
        "2",
    )


async def test_sns_subscription_confirmation_visits_subscribe_url(hooks: Bench) -> None:
    message = confirmation(
        hooks, f"{hooks.sns.url}/confirm?Action=ConfirmSubscription&Token=tok-123"
    )
    response = await post_sns(hooks, message)
    assert response.status_code == 200, response.text
    assert response.json()["subscription"] == "confirmed"
    assert hooks.sns.visits == ["/cert.pem", "/confirm?Action=ConfirmSubscription&Token=tok-123"]
    assert (await post_sns(hooks, message)).status_code == 409  # a replay confirms nothing
    assert len(hooks.sns.visits) == 2


async def test_sns_subscribe_url_off_sns_is_not_visited(hooks: Bench) -> None:
    port = hooks.sns.url.rsplit(":", 1)[1]
    message = confirmation(hooks, f"https://localhost:{port}/confirm?Token=x")
    response = await post_sns(hooks, message)
    assert response.status_code == 403
    assert hooks.sns.visits == ["/cert.pem"]


# --- SendGrid --------------------------------------------------------------------------------


def sendgrid_events() -> bytes:
    return json.dumps(
        [
            {"email": "ann@example.org", "event": "bounce", "type": "bounce", "status": "5.1.1",
             "reason": "550 5.1.1 no such user", "smtp-id": "<d1@example.com>", "sg_event_id": "e1"},
            {"email": "bo@example.org", "event": "spamreport", "sg_event_id": "e2"},
            {"email": "cy@example.org", "event": "open", "sg_event_id": "e3"},
        ]
    ).encode()  # fmt: skip


async def test_sendgrid_signed_events_are_ingested(hooks: Bench) -> None:
    body = sendgrid_events()
    headers = SENDGRID.headers(body, int(time.time()))
    response = await hooks.client.post("/v1/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["events"] == 2  # the open is not a delivery outcome
    bounce, complaint = (parts(raw) for raw, _ in hooks.recorder.reports)
    assert bounce["report"].get_param("report-type") == "delivery-status"
    assert complaint["report"].get_param("report-type") == "feedback-report"
    feedback = complaint["message/feedback-report"].as_string()
    assert "Feedback-Type: abuse" in feedback
    assert "Original-Rcpt-To: bo@example.org" in feedback


@pytest.mark.parametrize("fault", ["forged", "unsigned", "stale", "other-key", "garbage"])
async def test_sendgrid_bad_signatures_are_refused(hooks: Bench, fault: str) -> None:
    body = sendgrid_events()
    now = int(time.time())
    headers = SENDGRID.headers(body, now - 3600 if fault == "stale" else now)
    if fault == "forged":
        body = body.replace(b"ann@", b"eve@")
    elif fault == "unsigned":
        headers = {}
    elif fault == "other-key":
        headers = SendgridSigner.make().headers(body, now)
    elif fault == "garbage":
        headers["X-Twilio-Email-Event-Webhook-Signature"] = "%%%not-base64"
    response = await hooks.client.post("/v1/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 403
    assert hooks.recorder.reports == []


async def test_sendgrid_replay_is_refused(hooks: Bench) -> None:
    body = sendgrid_events()
    headers = SENDGRID.headers(body, int(time.time()))
    assert (
        await hooks.client.post("/v1/webhooks/sendgrid", content=body, headers=headers)
    ).status_code == 200
    again = await hooks.client.post("/v1/webhooks/sendgrid", content=body, headers=headers)
    assert again.status_code == 409
    assert len(hooks.recorder.reports) == 2


# --- Mailgun ---------------------------------------------------------------------------------


def mailgun_failed(
    recipient: str = "ann@example.org", severity: str = "permanent"
) -> dict[str, Any]:
    return {
        "event": "failed",
        "severity": severity,
        "recipient": recipient,
        "id": "mg-1",
        "message": {"headers": {"message-id": "d7.c1@example.com"}},
        "envelope": {"sender": "bounce+d7.xyz@bounces.example.com"},
        "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "description": "No such user"},
    }


async def test_mailgun_signed_event_is_ingested(hooks: Bench) -> None:
    body = mailgun_body(mailgun_failed(), int(time.time()), "tok-1")
    response = await hooks.client.post("/v1/webhooks/mailgun", content=body)
    assert response.status_code == 200, response.text
    [(raw, source)] = hooks.recorder.reports
    assert source == "webhook:mailgun"
    assert delivery_status(raw)["status"] == "5.1.1"
    assert "Message-ID: <d7.c1@example.com>" in parts(raw)["text/rfc822-headers"].get_payload()


@pytest.mark.parametrize("fault", ["forged", "unsigned", "stale", "wrong-key"])
async def test_mailgun_bad_signatures_are_refused(hooks: Bench, fault: str) -> None:
    now = int(time.time())
    body = mailgun_body(mailgun_failed(), now - 3600 if fault == "stale" else now, "tok-2",
                        key="wrong" if fault == "wrong-key" else "key-test-mailgun-signing")  # fmt: skip
    if fault == "forged":  # Mailgun signs the timestamp and token, not the event
        body = body.replace(b'"tok-2"', b'"tok-9"')
    elif fault == "unsigned":
        body = json.dumps({"event-data": mailgun_failed()}).encode()
    response = await hooks.client.post("/v1/webhooks/mailgun", content=body)
    assert response.status_code == 403
    assert hooks.recorder.reports == []


async def test_mailgun_replayed_token_is_refused(hooks: Bench) -> None:
    now = int(time.time())
    first = mailgun_body(mailgun_failed(), now, "tok-3")
    assert (await hooks.client.post("/v1/webhooks/mailgun", content=first)).status_code == 200
    # the same token, freshly signed with another event: still a replay
    second = mailgun_body(mailgun_failed("bo@example.org"), now + 1, "tok-3")
    assert (await hooks.client.post("/v1/webhooks/mailgun", content=second)).status_code == 409
    assert len(hooks.recorder.reports) == 1


async def test_failed_ingestion_leaves_no_receipt_so_a_retry_is_taken(hooks: Bench) -> None:
    body = mailgun_body(mailgun_failed(), int(time.time()), "tok-4")
    hooks.recorder.fail = True
    response = await hooks.client.post("/v1/webhooks/mailgun", content=body)
    assert response.status_code == 500  # the provider tries again later
    assert "Traceback" not in response.text
    assert await WebhookReceipt.all().count() == 0
    hooks.recorder.fail = False
    assert (await hooks.client.post("/v1/webhooks/mailgun", content=body)).status_code == 200


# --- Postmark --------------------------------------------------------------------------------


def postmark_bounce(bounce_type: str = "HardBounce", record_id: int = 42) -> bytes:
    return json.dumps(
        {"RecordType": "Bounce", "ID": record_id, "Type": bounce_type, "Email": "ann@example.org",
         "Description": "The server was unable to deliver your message", "MessageID": "pm-1"}
    ).encode()  # fmt: skip


async def test_postmark_with_credentials_is_ingested(hooks: Bench) -> None:
    response = await hooks.client.post(
        "/v1/webhooks/postmark", content=postmark_bounce(), headers=basic()
    )
    assert response.status_code == 200, response.text
    status = delivery_status(hooks.recorder.reports[0][0])
    assert (status["action"], status["status"]) == ("failed", "5.0.0")
    soft = await hooks.client.post(
        "/v1/webhooks/postmark", content=postmark_bounce("SoftBounce", 43), headers=basic()
    )
    assert soft.status_code == 200
    assert delivery_status(hooks.recorder.reports[1][0])["status"] == "4.0.0"


@pytest.mark.parametrize(
    "headers", [{}, basic(password="wrong"), basic(user="x", password=POSTMARK_PASSWORD)]
)
async def test_postmark_without_credentials_is_refused(
    hooks: Bench, headers: dict[str, str]
) -> None:
    response = await hooks.client.post(
        "/v1/webhooks/postmark", content=postmark_bounce(), headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert hooks.recorder.reports == []


async def test_postmark_replay_is_refused(hooks: Bench) -> None:
    body = postmark_bounce()
    assert (
        await hooks.client.post("/v1/webhooks/postmark", content=body, headers=basic())
    ).status_code == 200
    assert (
        await hooks.client.post("/v1/webhooks/postmark", content=body, headers=basic())
    ).status_code == 409
    assert len(hooks.recorder.reports) == 1


# --- every route -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
async def test_malformed_and_oversized_bodies(hooks: Bench, provider: str) -> None:
    path = f"/v1/webhooks/{provider}"
    headers = basic()
    body = b"{not json"
    if provider == "sendgrid":
        headers = SENDGRID.headers(body, int(time.time()))
    if provider == "mailgun":
        body = b"[1, 2"
    response = await hooks.client.post(path, content=body, headers=headers)
    assert response.status_code in (400, 403)
    assert "Traceback" not in response.text
    big = await hooks.client.post(path, content=b"x" * (64 * 1024 + 1), headers=headers)
    assert big.status_code == 413
    assert hooks.recorder.reports == []


async def test_routes_are_off_until_configured(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    settings: Settings = settings_for(db_conn)
    async with bench(settings, tmp_path, SIGNER, SENDGRID) as b:
        for provider in ("ses", "sendgrid", "mailgun", "postmark"):
            response = await b.client.post(f"/v1/webhooks/{provider}", content=b"{}")
            assert response.status_code == 404


async def test_allow_unsigned_takes_unsigned_sendgrid(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    overrides = webhook_overrides(SENDGRID)
    overrides["bounces"]["webhooks"]["sendgrid"] = {"allow_unsigned": True}
    settings: Settings = settings_for(db_conn, **overrides)
    async with bench(settings, tmp_path, SIGNER, SENDGRID) as b:
        response = await b.client.post("/v1/webhooks/sendgrid", content=sendgrid_events())
        assert response.status_code == 200
        assert len(b.recorder.reports) == 2
