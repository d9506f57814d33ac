"""Obligation reminders against a real database and a real SMTP server, the clock given by the
test: every threshold once, nothing twice across a restart, and the numbers in /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.compliance import ClockKind
from incident_svc.models import AuditEvent, Incident, ObligationReminder
from incident_svc.service_status import ServiceStatus
from incident_svc.services.obligations import obligation_countdowns, records, reminders
from incident_svc.services.obligations.facts import set_facts
from incident_svc.services.obligations.obligation_countdowns import obligation_metrics
from incident_svc.web.health import health_routes
from tests.notice_data import make_incident, make_subject
from tests.support.report_data import DISCOVERED
from tests.support.smtp_catcher import Catcher, smtp_catcher
from tests.test_reminders import sender

TEAM = "team@security.test"
H = timedelta(hours=1)
DETERMINED = DISCOVERED + 24 * H  # Texas: 60 days from determination
TX_DUE = DETERMINED + 60 * 24 * H


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def config(db_conn: str, settings_for: Any, catcher: Catcher) -> Settings:
    return settings_for(  # type: ignore[no-any-return]
        db_conn, security_team_email=TEAM, smtp={"host": catcher.host, "port": catcher.port}
    )


async def texas_and_uk() -> Incident:
    """Two Texans (SSN) and one UK resident, affected list resolved, determination recorded."""
    incident = await make_incident(discovered_at=DISCOVERED, affected_resolved_at=DISCOVERED)
    await make_subject(incident, "TX-1", ["contact", "ssn"], jurisdiction="US-TX")
    await make_subject(incident, "TX-2", ["contact", "ssn"], jurisdiction="US-TX")
    await make_subject(incident, "GB-1", ["contact"], jurisdiction="GB")
    await set_facts(
        ref=incident.ref,
        actor="alice",
        key=None,
        reason="counsel confirmed a breach",
        clocks={ClockKind.DETERMINED: DETERMINED},
    )
    return incident


async def send(config: Settings, at: Any) -> list[tuple[str, str]]:
    done = await reminders.send_due(now=at, settings=config, send=sender(config))
    return [(r.countdown.key, r.threshold) for r in done]


async def test_each_threshold_once_then_nothing_across_a_restart(
    config: Settings, catcher: Catcher, db_conn: str
) -> None:
    await texas_and_uk()
    window = TX_DUE - DETERMINED
    assert await send(config, DISCOVERED + 47 * H) == []
    # the UK row keeps the regulator reminder's rhythm: 24 h and 4 h before its 72 hours
    assert await send(config, DISCOVERED + 48 * H) == [("uk-gdpr-33-ico", "24h")]
    assert await send(config, DISCOVERED + 68 * H) == [("uk-gdpr-33-ico", "4h")]
    expected = [("50%", 0.5), ("75%", 0.75), ("90%", 0.9), ("due", 1.0)]
    for threshold, share in expected:
        at = DETERMINED + window * share
        assert await send(config, at - timedelta(seconds=1)) == []
        assert await send(config, at) == [("tx-people", threshold)]
        assert await send(config, at + H) == []  # once
    assert len(catcher.to(TEAM)) == 6
    await db.close_database()  # a restart: nothing of the process survives but the database
    obligation_countdowns._plans.clear()
    await db.open_database(db_conn)
    for share in (0.5, 0.9, 1.0, 1.5):
        assert await send(config, DETERMINED + window * share) == []
    assert len(catcher.to(TEAM)) == 6
    assert await ObligationReminder.filter(key="tx-people").count() == 4
    assert await AuditEvent.filter(action="incident.reminder_sent").count() == 6


async def test_the_reminder_is_a_well_formed_email(config: Settings, catcher: Catcher) -> None:
    incident = await texas_and_uk()
    await Incident.filter(id=incident.id).update(regulator_notified_at=DISCOVERED + 2 * H)
    assert await send(config, DETERMINED + 30 * 24 * H) == [("tx-people", "50%")]
    [mail] = catcher.to(TEAM)
    parsed = BytesParser(policy=policy.default).parsebytes(mail.as_bytes())
    assert (
        str(parsed["Subject"])
        == "[INC-2026-0001] tx-people due 2027-01-22T09:15+00:00 (720 h left)"
    )
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"].startswith("<reminder.")
    body = parsed.get_body(("plain",)).get_content()
    assert "Tex. Bus. & Com. Code 521.053" in body
    assert "incident obligation-met INC-2026-0001 tx-people --at TIME" in body
    [event] = await AuditEvent.filter(action="incident.reminder_sent")
    assert '"threshold":"50%"' in event.details and parsed["Message-ID"] in event.details


async def test_a_met_or_notified_obligation_is_not_reminded(config: Settings) -> None:
    incident = await texas_and_uk()
    await Incident.filter(id=incident.id).update(regulator_notified_at=DISCOVERED + 2 * H)
    assert await send(config, DISCOVERED + 70 * H) == []  # the old command still counts

    await records.record_met(
        ref=incident.ref,
        rule_key="tx-people",
        at=DETERMINED + 24 * H,
        reference="letters posted",
        actor="alice",
        key=None,
        settings=config,
    )
    assert await send(config, TX_DUE) == []
    assert await reminders.next_reminder_at(now=TX_DUE, settings=config) is None


async def test_next_alarm_and_metrics(config: Settings) -> None:
    await texas_and_uk()
    now = DISCOVERED + 50 * H
    assert await reminders.next_reminder_at(now=now, settings=config) == now  # 24h is due
    await send(config, now)
    assert await reminders.next_reminder_at(now=now, settings=config) == DISCOVERED + 68 * H
    numbers = await obligation_metrics(now=now, settings=config)
    assert (numbers.open, numbers.late) == (2, 0)
    assert numbers.next_due_seconds == 22 * 3600  # the UK row, due at 72 h
    app = Starlette(
        routes=health_routes(
            ServiceStatus(), lambda at: obligation_metrics(now=now, settings=config)
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as client:
        text = (await client.get("/metrics")).text
    assert 'incident_svc_obligations{status="open"} 2' in text
    assert 'incident_svc_obligations{status="late"} 0' in text
    assert "incident_svc_next_obligation_due_seconds 79200" in text
    later = await obligation_metrics(now=DISCOVERED + 80 * H, settings=config)
    assert (later.open, later.late) == (1, 1)


async def test_a_new_clock_or_record_counts_at_the_next_tick(config: Settings) -> None:
    """The plan is cached for the scheduler and /metrics, but a clock start recorded, an
    obligation met or one declined counts at the very next tick, not PLAN_SECONDS later."""
    incident = await make_incident(discovered_at=DISCOVERED, affected_resolved_at=DISCOVERED)
    await make_subject(incident, "TX-1", ["contact", "ssn"], jurisdiction="US-TX")
    await make_subject(incident, "GB-1", ["contact"], jurisdiction="GB")
    now = DISCOVERED + 10 * H

    async def keys(at: Any) -> set[str]:
        found = await obligation_countdowns.countdowns(settings=config, now=at, cached=True)
        return {c.key for c in found}

    before = await keys(now)
    assert (await obligation_metrics(now=now, settings=config)).open == len(before)
    assert "uk-gdpr-33-ico" in before and "tx-people" not in before  # no determination yet
    await set_facts(
        ref=incident.ref,
        actor="alice",
        key=None,
        reason="counsel confirmed a breach",
        clocks={ClockKind.DETERMINED: DETERMINED},
    )
    after = await keys(now + timedelta(seconds=1))
    assert "tx-people" in after and before < after
    metrics = await obligation_metrics(now=now + timedelta(seconds=1), settings=config)
    assert metrics.open == len(after)
    await records.record_met(
        ref=incident.ref,
        rule_key="tx-people",
        at=DETERMINED + 24 * H,
        reference="letters posted",
        actor="alice",
        key=None,
        settings=config,
    )
    assert "tx-people" not in await keys(now + timedelta(seconds=2))
    await records.record_declined(
        ref=incident.ref,
        rule_key="uk-gdpr-33-ico",
        reason="unlikely to result in a risk (encrypted, key not taken)",
        actor="alice",
        key=None,
        settings=config,
    )
    assert "uk-gdpr-33-ico" not in await keys(now + timedelta(seconds=3))
    # the next alarm follows at once too: nothing left but what is still open
    at = await reminders.next_reminder_at(now=now + timedelta(seconds=4), settings=config)
    left = await keys(now + timedelta(seconds=4))
    assert (at is None) == (not left)
