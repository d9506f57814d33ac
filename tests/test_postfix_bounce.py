"""A real mail system bounces a notice after accepting it, and its report is ingested.

The campaign is sent through a private Postfix (tests/support/postfix.py): one person's
address names a user Postfix does not have, so Postfix accepts the message, fails to
deliver it and sends its own delivery status notification to the message's return path,
which it relays to the test's aiosmtpd. That report, exactly as Postfix wrote it, goes into a
Maildir and through `bounces ingest`'s service.
"""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path
from typing import Any

from incident_svc.domain.enums import DeliveryOutcome, DeliveryStatus, EmailStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import BounceReport, Delivery, Incident, Subject
from incident_svc.services.bounce import bounce_folder
from tests.support import sending, signers
from tests.support.campaign_setup import TEXTS
from tests.support.people import make_incident
from tests.support.postfix import postfix
from tests.support.smtpd import SmtpServer, smtp_server

NOBODY = "nosuchperson@mx.test.internal"  # a domain Postfix delivers itself


async def _reports(server: SmtpServer, count: int, seconds: float = 30.0) -> list[bytes]:
    """Messages with the null sender (reports), waiting for Postfix to send them."""
    deadline = utcnow().timestamp() + seconds
    while utcnow().timestamp() < deadline:
        found = [m.data for m in server.received if m.sender in ("", "<>")]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"Postfix sent no report within {seconds} s")


async def test_postfix_bounce_after_acceptance_is_ingested(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    incident = await make_incident(3)
    await Incident.filter(id=incident.id).update(texts=TEXTS, categories=["contact"])
    first = await Subject.all().order_by("id").first()
    assert first is not None
    await Subject.filter(id=first.id).update(email=NOBODY)
    async with smtp_server() as sink:
        with postfix(relay_port=sink.port) as mta:
            smtp = {"host": mta.host, "port": mta.port, "timeout": 10.0, "pool_size": 1}
            bounces = {"domain": "bounces.example.com", "token_secret": "postfix-test-secret"}
            settings = settings_for(db_conn, smtp=smtp, bounces=bounces)
            campaign = await signers.create_signed(by="alice")
            await signers.approve_signed(settings, campaign.id, by="bob")
            await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a")
            [raw] = await _reports(sink, 1)
    bounced = await Delivery.get(address=NOBODY)
    assert bounced.status is DeliveryStatus.SENT  # Postfix accepted it: proof of dispatch
    assert raw.count(b"Action: failed") == 1 and b"Status: 5.1.1" in raw
    folder = tmp_path / "bounces"
    mailbox.Maildir(folder, create=True).add(raw)
    summary = await bounce_folder.ingest_folder(folder, settings=settings, actor="ops")
    assert (summary.reports, summary.statuses["recorded"]) == (1, 1)
    after = await Delivery.get(id=bounced.id)
    assert after.outcome is DeliveryOutcome.BOUNCED and after.status is DeliveryStatus.SENT
    [report] = await BounceReport.all()
    assert (report.delivery_id, report.status, report.matched_by) == (bounced.id, "5.1.1", "verp")  # type: ignore[attr-defined]
    assert (await Subject.get(id=first.id)).email_status is EmailStatus.BOUNCED
    others = await Delivery.exclude(id=bounced.id).values_list("outcome", flat=True)
    assert others == [None, None]
