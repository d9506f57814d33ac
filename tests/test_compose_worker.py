"""Composing in a worker process: the same bytes, errors that name their delivery, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import DeliveryStatus, NoticeKind
from incident_svc.mail.smtp_transaction import wire_form
from incident_svc.models import Campaign, Delivery, Subject
from incident_svc.notices.composer import Composer, load_composer
from incident_svc.notices.errors import ComposeItemError
from incident_svc.services.delivery import campaigns
from incident_svc.services.delivery.composing import load_default_composer
from tests.notice_data import make_incident, make_subject
from tests.support import sending
from tests.support.approval import OPEN
from tests.support.smtpd import smtp_server
from tests.test_notice_composer import item

DATE = "Tue, 01 Dec 2026 10:00:00 +0000"


async def started(composer: Composer) -> Composer:
    async with asyncio.timeout(60):
        await composer.start_worker()
    return composer


async def one_person_and_a_started_worker(settings: Settings) -> tuple[Subject, Composer]:
    incident = await make_incident()
    person = await make_subject(incident, "S1")
    composer = await load_composer(
        incident_id=incident.id, kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )
    return person, await started(composer)


async def test_the_worker_writes_the_bytes_the_composer_writes(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    people = [
        await make_subject(incident, "EN1", name="Ana Lee"),
        await make_subject(incident, "ZH1", locale="zh-Hant-HK", name="陳大文"),
        await make_subject(incident, "EN2", name='Mallory "<script>"', categories=["payment_card"]),
    ]
    composer = await load_composer(
        incident_id=incident.id, kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )
    try:
        facts = await composer.load_facts([item(p, n) for n, p in enumerate(people, start=1)])
        here = composer.compose_facts(facts, DATE)
        await started(composer)
        assert composer._worker is not None
        there = await composer._worker.compose(facts, DATE)
        assert composer._worker.batches == 1
    finally:
        await composer.close()
    assert [m.data for m in there] == [m.data for m in here]
    assert [m.sha256 for m in there] == [m.sha256 for m in here]
    assert [m.wire for m in there] == [wire_form(m.data) for m in here]
    assert None not in [m.wire for m in there]  # the DATA payload comes ready from the worker
    assert len({m.delivery_id for m in there}) == 3


async def test_an_item_the_worker_cannot_compose_names_its_delivery(
    db_conn: str, settings: Settings
) -> None:
    person, composer = await one_person_and_a_started_worker(settings)
    try:
        with pytest.raises(ComposeItemError, match="Message-ID") as caught:
            await composer.compose_batch([item(person, 1), item(person, 2, message_id="bad")])
        assert caught.value.delivery_id == 2
        [good] = await composer.compose_batch([item(person, 3)])
        assert good.delivery_id == 3
        assert composer._worker is not None and composer._worker.batches == 1
    finally:
        await composer.close()


async def test_a_campaign_composed_in_the_worker_is_sent_whole(
    db_conn: str, settings_for: Any
) -> None:
    incident = await make_incident()
    for n in range(30):
        await make_subject(incident, f"P{n}", locale="zh-Hant-HK" if n % 3 == 0 else "en")
    used: list[Composer] = []

    async def loader(incident_id: int, kind: NoticeKind, settings: Settings) -> Composer:
        composer = await load_default_composer(incident_id, kind, settings)
        assert isinstance(composer, Composer)
        used.append(await started(composer))
        return composer

    async with smtp_server() as server:
        settings = settings_for(
            db_conn,
            smtp={"host": server.host, "port": server.port, "pool_size": 2},
            delivery={"batch_size": 10},
            approval={"required": False},
        )
        campaign = await campaigns.create(
            incident_ref=incident.ref,
            kind="subject_notice",
            at=None,
            actor="a",
            key=None,
            approval=OPEN,
        )
        await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a", loader=loader)
        received = [
            line
            for message in server.received
            for line in message.data.decode().splitlines()
            if line.startswith("Message-ID:")
        ]
    [composer] = used
    assert composer._worker is None  # closed when the sending ended
    statuses = await Delivery.filter(campaign_id=campaign.id).values_list("status", flat=True)
    assert sorted(statuses) == [DeliveryStatus.SENT] * 30
    assert len(set(received)) == len(received) == 30
    assert (await Campaign.get(id=campaign.id)).status == "completed"


CHILD = """
import asyncio, sys, time
from datetime import datetime, timezone
from incident_svc.config import OrgSettings
from incident_svc.domain.enums import NoticeKind
from incident_svc.mail import mime
from incident_svc.notices.compose_worker import ComposeWorker
from incident_svc.notices.composer import ComposerSpec
from incident_svc.notices.context import IncidentFacts

if __name__ == "__main__":
    sender = mime.Mailbox("Security", "security@example.com")
    spec = ComposerSpec(
        incident=IncidentFacts(1, "INC-2026-0001", "t", "high", None, None,
                               datetime(2026, 11, 28, tzinfo=timezone.utc), {}),
        kind=NoticeKind.SUBJECT_NOTICE, templates_dir=None, org=OrgSettings(),
        sender=sender, reply_to=None, signer=None, skeleton=mime.build_skeleton(sender=sender),
    )
    worker = ComposeWorker(spec)
    worker.start()
    while not worker.ready:
        time.sleep(0.05)
    print(worker.pid, flush=True)
    time.sleep(600)
"""


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}  # exited (a zombie waits for whoever adopted it)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
async def test_the_worker_exits_when_its_sender_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "sender.py"
    script.write_text(CHILD)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
    worker_pid = int(line)
    assert worker_pid != child.pid and not gone(worker_pid)
    child.kill()
    await child.wait()
    for _ in range(100):
        if gone(worker_pid):
            break
        await asyncio.sleep(0.05)
    assert gone(worker_pid), "the compose worker outlived the process that started it"


async def test_a_worker_that_dies_leaves_the_composing_to_the_sender(
    db_conn: str, settings: Settings
) -> None:
    person, composer = await one_person_and_a_started_worker(settings)
    try:
        worker = composer._worker
        assert worker is not None and worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)  # as the kernel's OOM killer would
        for _ in range(100):
            if gone(worker.pid):
                break
            await asyncio.sleep(0.05)
        [message] = await composer.compose_batch([item(person, 1)])
        [again] = await composer.compose_batch([item(person, 2)])
        assert (message.delivery_id, again.delivery_id) == (1, 2)
        assert worker.batches == 0 and not worker.ready  # both composed in this process
    finally:
        await composer.close()
