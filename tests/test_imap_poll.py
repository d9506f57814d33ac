"""The report mailbox against a real Dovecot on 127.0.0.1 (TLS): unseen reports are ingested
and marked only after the ingestion committed; a poll that dies midway loses nothing."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings
from incident_svc.config_bounces import ImapSettings
from incident_svc.domain.enums import DeliveryOutcome
from incident_svc.errors import ConfigError
from incident_svc.mail.imap_mailbox import MailboxError
from incident_svc.models import AuditEvent, BounceReport, Delivery
from incident_svc.runtime.wiring import open_parts
from incident_svc.scheduling import ServiceScheduler
from incident_svc.services.bounce.bounce_sources.imap_poll import poll_once
from incident_svc.services.bounce.bounce_sources.ingest_port import default_ingest
from incident_svc.services.bounce.bounces import IngestResult
from tests.support import bounce_reports as reports
from tests.support import sending
from tests.support.campaign_setup import scheduled_campaign
from tests.support.imapd import Imapd, available, imap_server
from tests.support.smtpd import SmtpServer, smtp_server
from tests.support.webhooks import Recorder

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


def dsn(n: int, padding: int = 0) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: <bounce+d{n}.tok@bounces.example.com>\r\n"
        f"Subject: Undelivered Mail Returned to Sender {n}\r\n"
        f"Message-ID: <dsn{n}@mx.example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nundeliverable" + "x" * padding + "\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; user{n}@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b--\r\n"
    ).encode()


@pytest.fixture
def imapd(tmp_path: Path) -> Iterator[Imapd]:
    with imap_server(tmp_path) as server:
        yield server


def imap_settings(server: Imapd, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "ca_file": str(server.ca_file),
        "username": server.user,
        "password": server.password,
        "poll_seconds": 0.2,
        "timeout": 10,
    }
    values.update(changes)
    return values


class Client:
    """The test's own IMAP session: put reports in, look at flags and folders."""

    def __init__(self, server: Imapd) -> None:
        self.server = server

    async def __aenter__(self) -> aioimaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.server.ca_file))
        self.imap = aioimaplib.IMAP4_SSL(self.server.host, self.server.port, ssl_context=context)
        await self.imap.wait_hello_from_server()
        assert (await self.imap.login(self.server.user, self.server.password)).result == "OK"
        return self.imap

    async def __aexit__(self, *exc: object) -> None:
        await self.imap.logout()


async def put(server: Imapd, *messages: bytes, mailbox: str = "INBOX") -> None:
    async with Client(server) as imap:
        for message in messages:
            assert (await imap.append(message, mailbox=mailbox)).result == "OK"


async def count(server: Imapd, criterion: str, mailbox: str = "INBOX") -> int:
    async with Client(server) as imap:
        assert (await imap.select(mailbox)).result == "OK"
        response = await imap.search(criterion)
        return len(response.lines[0].split())


BOUNCES = {"domain": "bounces.example.com", "token_secret": "imap-test-token-secret-0123456789"}


def smtp_of(server: SmtpServer) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}


def settings_with(
    settings_for: Any,
    db: str,
    server: Imapd,
    *,
    bounces: dict[str, Any] | None = None,
    smtp: dict[str, Any] | None = None,
    **changes: Any,
) -> Settings:
    more: dict[str, Any] = {"smtp": smtp} if smtp else {}
    section = {**(bounces or {}), "imap": imap_settings(server, **changes)}
    built: Settings = settings_for(db, bounces=section, **more)
    return built


async def test_unseen_reports_are_ingested_then_marked_seen(
    db_conn: str, settings_for: Any, imapd: Imapd
) -> None:
    """A real campaign with return paths; its bounce and complaint arrive in the mailbox."""
    async with smtp_server() as smtpd:
        settings = settings_with(settings_for, db_conn, imapd, smtp=smtp_of(smtpd), bounces=BOUNCES)
        campaign = await scheduled_campaign(settings, subjects=3, at=None)
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
    ids = {d.address: str(d.message_id) for d in await Delivery.all()}
    sent = [reports.Sent(m.sender, m.recipient, ids[m.recipient]) for m in smtpd.received]
    sent.sort(key=lambda s: s.recipient)
    await put(imapd, reports.dsn(sent[0]), reports.arf(sent[1]), b"Subject: hello\r\n\r\nhi\r\n")
    ingest = default_ingest(settings)
    result = await poll_once(settings.bounces.imap, ingest=ingest)
    assert result.statuses == {"recorded": 2, "unreadable": 1}
    outcomes = {d.address: d.outcome for d in await Delivery.all()}
    assert outcomes[sent[0].recipient] is DeliveryOutcome.BOUNCED
    assert outcomes[sent[1].recipient] is DeliveryOutcome.COMPLAINED
    assert {r.source for r in await BounceReport.all()} == {f"imap:{imapd.host}/INBOX"}
    assert await count(imapd, "UNSEEN") == 0
    assert await count(imapd, "SEEN") == 3
    again = await poll_once(settings.bounces.imap, ingest=ingest)
    assert again.handled == 0
    assert await BounceReport.all().count() == 2


async def test_a_report_read_twice_after_a_crash_changes_nothing(
    db_conn: str, settings_for: Any, imapd: Imapd
) -> None:
    """The poll died after the ingestion committed and before the message was marked."""
    async with smtp_server() as smtpd:
        settings = settings_with(settings_for, db_conn, imapd, smtp=smtp_of(smtpd), bounces=BOUNCES)
        campaign = await scheduled_campaign(settings, subjects=1, at=None)
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="alice")
    [delivery] = await Delivery.all()
    [message] = smtpd.received
    await put(
        imapd,
        reports.dsn(reports.Sent(message.sender, message.recipient, str(delivery.message_id))),
    )
    real = default_ingest(settings)

    async def commits_then_dies(raw: bytes, source: str) -> IngestResult:
        await real(raw, source)
        raise ConnectionResetError("the IMAP connection dropped")

    with pytest.raises(ConnectionResetError):
        await poll_once(settings.bounces.imap, ingest=commits_then_dies)
    assert await count(imapd, "UNSEEN") == 1
    batches = await AuditEvent.filter(action="bounce.batch").count()
    result = await poll_once(settings.bounces.imap, ingest=real)
    assert result.statuses == {"duplicate": 1}
    assert await count(imapd, "UNSEEN") == 0
    assert await BounceReport.all().count() == 1
    assert await AuditEvent.filter(action="bounce.batch").count() == batches


async def test_raw_bytes_reach_the_ingestion_unchanged(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    await put(imapd, dsn(7))
    recorder = Recorder()
    settings = settings_with(settings_for, database_url, imapd)
    await poll_once(settings.bounces.imap, ingest=recorder)
    [(raw, source)] = recorder.reports
    assert raw == dsn(7)
    assert source == f"imap:{imapd.host}/INBOX"


async def test_processed_reports_are_moved(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    async with Client(imapd) as imap:
        assert (await imap.create("Processed")).result == "OK"
    await put(imapd, dsn(1), dsn(2))
    settings = settings_with(settings_for, database_url, imapd, processed_mailbox="Processed")
    result = await poll_once(settings.bounces.imap, ingest=Recorder())
    assert result.ingested == 2
    assert await count(imapd, "ALL") == 0
    assert await count(imapd, "SEEN", mailbox="Processed") == 2


async def test_a_poll_that_dies_midway_loses_nothing(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    await put(imapd, dsn(1), dsn(2), dsn(3))
    settings = settings_with(settings_for, database_url, imapd)
    seen: list[bytes] = []

    recorder = Recorder()

    async def dies_on_second(raw: bytes, source: str) -> IngestResult:
        if len(seen) == 1:
            raise RuntimeError("ingestion died before it committed")
        seen.append(raw)
        return await recorder(raw, source)

    with pytest.raises(RuntimeError):
        await poll_once(settings.bounces.imap, ingest=dies_on_second)
    assert await count(imapd, "UNSEEN") == 2  # only the committed one is marked
    recorder = Recorder()
    result = await poll_once(settings.bounces.imap, ingest=recorder)
    assert result.ingested == 2
    assert [raw for raw, _ in recorder.reports] == [dsn(2), dsn(3)]


async def test_batches_and_oversized_messages(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    await put(imapd, dsn(1, padding=5000), dsn(2), dsn(3))
    settings = settings_with(
        settings_for, database_url, imapd, batch_size=2, max_message_bytes=4096
    )
    recorder = Recorder()
    first = await poll_once(settings.bounces.imap, ingest=recorder)
    assert (first.too_large, first.ingested, first.left) == (1, 1, 1)
    second = await poll_once(settings.bounces.imap, ingest=recorder)
    assert (second.ingested, second.left) == (1, 0)
    assert [raw for raw, _ in recorder.reports] == [dsn(2), dsn(3)]
    assert await count(imapd, "UNSEEN") == 0


async def test_wrong_password_is_a_config_error_without_the_password(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    settings = settings_with(settings_for, database_url, imapd, password="not-the-password")
    with pytest.raises(ConfigError) as caught:
        await poll_once(settings.bounces.imap, ingest=Recorder())
    assert caught.value.key == "bounces.imap.username"
    assert "not-the-password" not in str(caught.value)
    assert "not-the-password" not in repr(settings.bounces.imap)


async def test_untrusted_certificate_is_refused(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    await put(imapd, dsn(1))
    settings = settings_with(settings_for, database_url, imapd, ca_file=None)
    with pytest.raises(MailboxError, match="cannot reach"):
        await poll_once(settings.bounces.imap, ingest=Recorder())
    assert await count(imapd, "UNSEEN") == 1


async def test_serve_scheduler_polls_the_mailbox(
    db_conn: str, settings_for: Any, imapd: Imapd
) -> None:
    await put(imapd, dsn(1), dsn(2))
    settings = settings_with(settings_for, db_conn, imapd)
    async with open_parts(settings) as parts:
        assert parts.imap_poll is not None
        scheduler = ServiceScheduler(
            settings=settings, actions=parts.actions, imap_poll=parts.imap_poll
        )
        await scheduler.start()
        try:
            async with asyncio.timeout(20):
                while await count(imapd, "UNSEEN") > 0:
                    await asyncio.sleep(0.2)
        finally:
            scheduler.shutdown()
    assert await count(imapd, "UNSEEN") == 0


async def test_imap_is_off_until_configured(settings: Settings) -> None:
    assert not settings.bounces.imap.enabled
    async with open_parts(settings) as parts:
        assert parts.imap_poll is None
    assert ImapSettings().security == "tls"


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    messages=st.lists(
        st.binary(min_size=1, max_size=400).map(lambda b: b.replace(b"\x00", b" ")),
        min_size=1,
        max_size=3,
    )
)
async def test_hostile_messages_never_block_the_mailbox(
    db_conn: str, settings_for: Any, imapd: Imapd, messages: list[bytes]
) -> None:
    """Whatever lands in the mailbox is handed to the real ingestion and marked; nothing
    raises and nothing is left unseen."""
    settings = settings_with(settings_for, db_conn, imapd)
    await put(imapd, *[b"Subject: x\r\n\r\n" + m for m in messages])
    result = await poll_once(settings.bounces.imap, ingest=default_ingest(settings))
    assert result.handled == len(messages)
    assert set(result.statuses) <= {"unreadable", "unmatched", "duplicate", "refused"}
    assert await count(imapd, "UNSEEN") == 0


async def test_plain_imap_only_when_said_so(
    settings_for: Any, database_url: str, imapd: Imapd
) -> None:
    await put(imapd, dsn(1))
    tls_to_plain = settings_with(settings_for, database_url, imapd, port=imapd.plain_port)
    with pytest.raises(MailboxError, match="cannot reach"):
        await poll_once(tls_to_plain.bounces.imap, ingest=Recorder())
    plain = settings_with(
        settings_for, database_url, imapd, port=imapd.plain_port, security="plain", ca_file=None
    )
    recorder = Recorder()
    assert (await poll_once(plain.bounces.imap, ingest=recorder)).ingested == 1
    assert [raw for raw, _ in recorder.reports] == [dsn(1)]
