"""Regulator-deadline reminders of an incident whose affected list is not resolved yet (the
old single reminder, kept): real database, real SMTP server, time given by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
import pytest

from incident_svc.config import Settings
from incident_svc.mail.internal_message import InternalMessage
from incident_svc.models import AuditEvent, Incident, ObligationReminder
from incident_svc.services.auditlog import audit
from incident_svc.services.obligations import reminders
from tests.support import rows
from tests.support.smtp_catcher import Catcher, smtp_catcher

T0 = datetime.fromisoformat("2026-11-28T09:00:00+00:00")
H = timedelta(hours=1)
TEAM = "team@security.test"


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def config(db_conn: str, settings_for: Any, catcher: Catcher) -> Settings:
    return settings_for(  # type: ignore[no-any-return]
        db_conn,
        security_team_email=TEAM,
        smtp={"host": catcher.host, "port": catcher.port},
    )


def sender(settings: Settings) -> reminders.SendEmail:
    async def send(message: InternalMessage) -> object:
        return await aiosmtplib.send(
            message.data,
            sender=message.sender,
            recipients=[message.recipient],
            hostname=settings.smtp.host,
            port=settings.smtp.port,
        )

    return send


async def send_due(settings: Settings, now: datetime) -> list[Any]:
    return await reminders.send_due(now=now, settings=settings, send=sender(settings))


async def test_reminder_goes_out_once_with_an_audit_event(
    config: Settings, catcher: Catcher
) -> None:
    await rows.incident("INC-2026-0042", discovered_at=T0)
    assert await send_due(config, T0 + 47 * H) == []
    sent = await send_due(config, T0 + 48 * H + 60 * timedelta(seconds=1))
    assert [r.threshold for r in sent] == ["24h"]
    assert await send_due(config, T0 + 50 * H) == []  # once
    [mail] = catcher.to(TEAM)
    subject = mail["Subject"].replace("\r\n", "")  # unfolded: the header is folded at 78
    assert "INC-2026-0042" in subject
    assert "(24 h left)" in subject
    assert "regulator-notified INC-2026-0042" in mail.get_payload()
    assert await ObligationReminder.filter(threshold="24h").count() == 1
    [event] = await audit.events(incident_ref="INC-2026-0042")
    assert event.action == "incident.reminder_sent"
    assert '"hours_left":23.98' in event.details
    assert mail["Message-ID"] in event.details


async def test_second_offset_then_nothing_after_notification(
    config: Settings, catcher: Catcher
) -> None:
    inc = await rows.incident("INC-2026-0043", discovered_at=T0)
    await send_due(config, T0 + 48 * H)
    assert [r.threshold for r in await send_due(config, T0 + 68 * H)] == ["4h"]
    other = await rows.incident("INC-2026-0044", discovered_at=T0)
    await Incident.filter(id=other.id).update(regulator_notified_at=T0 + H)
    assert await send_due(config, T0 + 100 * H) == []
    assert len(catcher.to(TEAM)) == 2
    assert await ObligationReminder.filter(incident_id=inc.id).count() == 2


async def test_relay_refusal_changes_nothing_and_a_later_try_sends(
    config: Settings, catcher: Catcher
) -> None:
    await rows.incident("INC-2026-0045", discovered_at=T0)
    catcher.refuse.append("451 4.3.0 try later")
    with pytest.raises(aiosmtplib.SMTPResponseException):
        await send_due(config, T0 + 48 * H)
    assert await ObligationReminder.all().count() == 0
    assert await AuditEvent.all().count() == 0
    assert len(await send_due(config, T0 + 48 * H)) == 1
    assert len(catcher.to(TEAM)) == 1


async def test_two_senders_at_once_send_one_reminder(config: Settings, catcher: Catcher) -> None:
    await rows.incident("INC-2026-0046", discovered_at=T0)
    results = await asyncio.gather(send_due(config, T0 + 70 * H), send_due(config, T0 + 70 * H))
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(catcher.to(TEAM)) == 1


async def test_next_reminder_time(config: Settings) -> None:
    await rows.incident("INC-2026-0047", discovered_at=T0)
    assert await reminders.next_reminder_at(now=T0, settings=config) == T0 + 48 * H
    assert await reminders.next_reminder_at(now=T0 + 49 * H, settings=config) == T0 + 49 * H
