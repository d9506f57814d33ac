"""Released disclosure notices are e-mailed for real: `serve` releases a disclosure when its
non-disclosure period ends and its campaign sends the notices through a real SMTP server;
an indefinite one is reviewed (one reminder to the security team), confirmed, then ended, and
its notices go out the same way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus, DeliveryStatus, NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent, Campaign, Delivery, Disclosure
from incident_svc.services.delivery import ledger
from tests.support import disclosure_setup, people
from tests.support.service_process import run_cli, service, service_env
from tests.support.smtp_catcher import Catcher, smtp_catcher

pytestmark = pytest.mark.slow
TEAM = "team@security.test"
PEOPLE = {people.address(n) for n in (0, 1, 3)}
WITHHELD = "This detail is withheld as the law requires."


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def config(db_conn: str, settings_for: Any) -> Settings:
    return disclosure_setup.signed_settings(settings_for(db_conn))


@pytest.fixture
def env(db_conn: str, catcher: Catcher, tmp_path: Path) -> dict[str, str]:
    return service_env(
        db_conn, smtp_port=catcher.port, var_dir=tmp_path / "var",
        INCIDENT_SVC_SECURITY_TEAM_EMAIL=TEAM,
    )  # fmt: skip


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


async def _notices(catcher: Catcher, timeout: float = 30.0) -> dict[str, Message]:
    async with asyncio.timeout(timeout):
        while len([m for r, m in catcher.messages if set(r) & PEOPLE]) < len(PEOPLE):
            await asyncio.sleep(0.1)
    return {r[0]: m for r, m in catcher.messages if set(r) & PEOPLE}


async def _check_sent(ref: str, got: dict[str, Message]) -> None:
    assert set(got) == PEOPLE
    english = _text(got[people.address(1)])
    assert disclosure_setup.AUTHORITY in english  # to whom
    assert "November 2, 2026" in english  # when the request was received
    assert "Call detail records" in english or "call detail records" in english.lower()
    assert disclosure_setup.BASIS not in english and WITHHELD in english  # basis withheld
    chinese = _text(got[people.address(0)])
    assert disclosure_setup.AUTHORITY in chinese and disclosure_setup.BASIS not in chinese
    disclosure = await Disclosure.get(ref=ref)
    [campaign] = await Campaign.filter(matter_id=disclosure.matter_id)  # type: ignore[attr-defined]
    assert campaign.kind is NoticeKind.DISCLOSURE_NOTICE and campaign.incident_id is None  # type: ignore[attr-defined]
    async with asyncio.timeout(10):  # completed once the last outcome is recorded
        while (await Campaign.get(id=campaign.id)).status is not CampaignStatus.COMPLETED:
            await asyncio.sleep(0.1)
    assert campaign.approver_principal == "bob" and campaign.creator_principal == "alice"
    deliveries = await Delivery.filter(campaign_id=campaign.id)
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT} and len(deliveries) == 3
    assert {d.send_reason for d in deliveries} == {"disclosure notice: owed by law once permitted"}
    rows = [row async for row in ledger.rows(campaign.id)]
    assert {r["matter"] for r in rows} == {ref} and {r["incident"] for r in rows} == {None}
    approved = await AuditEvent.get(action="campaign.approved")
    details = json.loads(approved.details)
    assert details["matter"] == ref and details["approved_as"] == "disclosure.release_approved"
    assert details["approver_principal"] == "bob"
    started = await AuditEvent.get(action="campaign.started")
    assert started.actor.startswith("service")


async def test_period_ends_while_serve_runs_and_the_notices_arrive(
    env: dict[str, str], config: Settings, tmp_path: Path, catcher: Catcher
) -> None:
    ends = utcnow() + timedelta(seconds=20)  # past the service's start-up, with room
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_until=ends)
    await disclosure_setup.approve(config, made.ref, "bob")
    async with service(env) as svc:
        assert utcnow() < ends and not catcher.messages
        await svc.wait_for_log(f"disclosure {made.ref} released", timeout=30)
        got = await _notices(catcher)
        first = min(catcher.accepted_at)
        await _check_sent(made.ref, got)
        assert await svc.terminate() == 0
    assert utcnow() > ends and first > 0
    released = await Disclosure.get(id=made.id)
    assert released.released_at is not None and released.released_at >= ends
    [event] = await AuditEvent.filter(action="disclosure.released")
    assert event.actor == "service:disclosures"


async def test_indefinite_hold_reviewed_confirmed_ended_then_sent(
    env: dict[str, str], config: Settings, tmp_path: Path, catcher: Catcher
) -> None:
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_indefinite=True)
    await disclosure_setup.approve(config, made.ref, "bob")
    await Disclosure.filter(id=made.id).update(next_review_at=utcnow() + timedelta(seconds=1.5))
    async with service(env) as svc:
        await svc.wait_for_log(f"REVIEW {made.ref}", timeout=10)
        code, _, err = await run_cli(
            env, "--actor", "carol", "disclosure", "confirm-hold", made.ref,
            "--reason", "Counsel confirmed the order stands",
        )  # fmt: skip
        assert code == 0, err
        await asyncio.sleep(1.0)  # still held: nothing goes to the people, no second reminder
        assert not [m for r, m in catcher.messages if set(r) & PEOPLE]
        confirmed = await Disclosure.get(id=made.id)
        assert confirmed.status == "held" and confirmed.next_review_at is not None
        assert confirmed.next_review_at > utcnow() + timedelta(days=89)
        code, _, err = await run_cli(
            env, "--actor", "carol", "disclosure", "end-hold", made.ref,
            "--reason", "The court lifted the order",
        )  # fmt: skip
        assert code == 0, err
        await svc.wait_for_log(f"disclosure {made.ref} released", timeout=15)
        got = await _notices(catcher)
        await _check_sent(made.ref, got)
        assert await svc.terminate() == 0
    assert len(catcher.to(TEAM)) == 1  # one review reminder
    assert await AuditEvent.filter(action="disclosure.hold_confirmed").count() == 1
    assert await AuditEvent.filter(action="disclosure.hold_ended").count() == 1
    assert await AuditEvent.filter(action="disclosure.review_reminded").count() == 1
    [confirmed_event] = await AuditEvent.filter(action="disclosure.hold_confirmed")
    assert confirmed_event.actor == "carol"
    [mail] = catcher.to(TEAM)
    assert made.ref in mail["Subject"] and "confirm-hold" in mail.get_payload(decode=True).decode()
