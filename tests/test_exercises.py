"""Tabletop exercises against real databases (SQLite or PostgreSQL) and a real SMTP server.

The 72-hour story runs at 10,000x: the exercise clock passes 72 hours in 26 real
seconds while the team acts with the same services its commands call.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, RelayUnavailableError, ValidationError
from incident_svc.mail.relay_fence import ExerciseRelayRefused
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.models import AuditEvent, Delivery, Exposure, Incident, IncidentFact, Subject
from incident_svc.services.auditlog import audit_key
from incident_svc.services.exercises import isolation, lifecycle, registry, report
from incident_svc.services.exercises.lifecycle import StartRequest
from incident_svc.services.exercises.running import catch_up
from incident_svc.services.incident import affected, incidents
from incident_svc.services.obligations import facts, records
from tests.support import people, sending, signers
from tests.support.campaign_setup import TEXTS
from tests.support.databases import BACKEND, admin_execute
from tests.support.smtpd import smtp_server
from tests.test_residence_kept import census_as_joined

EXAMPLE = Path(__file__).parent / "data" / "exercises" / "billing-72h.toml"
SPEED = 10_000.0  # 72 exercise hours in 26 real seconds


@pytest.fixture
def real(database_url: str, settings_for: Any) -> Iterator[Settings]:
    """The real settings; any exercise database left on PostgreSQL is dropped afterwards."""
    chosen: Settings = settings_for(database_url)
    yield chosen
    if BACKEND == "postgres":
        for exercise in registry.all_exercises(chosen.var_dir):
            name = exercise.database_url.rsplit("/", 1)[1]
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _real_events(real: Settings, action: str) -> list[dict[str, Any]]:
    async with db.database(real.database_url):
        rows = await AuditEvent.filter(action=action).values("actor", "target_id", "details")
    return [{**r, "details": json.loads(r["details"])} for r in rows]


async def _sleep_until(exercise: registry.Exercise, hour: float) -> None:
    await asyncio.sleep(exercise.clock().real_seconds_until(hour) + 0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_72_hour_exercise_plays_in_seconds_and_ends_with_a_report(
    real: Settings, tmp_path: Path
) -> None:
    async with smtp_server() as sink:
        exercise = await lifecycle.start(
            real,
            StartRequest(
                name="drill-72",
                speed=SPEED,
                actor="carol",
                scenario_path=EXAMPLE,
                sink_port=sink.port,
            ),
        )
        settings = signers.shared().settings(isolation.exercise_settings(real, exercise))
        scenario = isolation.scenario_of(real.var_dir, exercise)
        ref = exercise.incident_ref
        with isolation.activate(exercise, scenario):
            async with db.database(settings.database_url):
                key = audit_key.resolve(settings).key
                assert key is not None  # the exercise chain has a key of its own
                await catch_up(exercise, settings, real.var_dir)
                await affected.resolve(ref=ref, actor="carol", key=key)
                await incidents.update(ref=ref, actor="carol", key=key, changes={}, texts=TEXTS)
                campaign = await signers.create_signed(ref, by="alice", key=key)
                await signers.approve_signed(settings, campaign.id, by="bob")
                counts = await sending.send_now(
                    campaign_id=campaign.id, settings=settings, actor="alice", key=key
                )
                assert counts.get("sent", 0) >= 6
                sent_by = exercise.clock().hour()
                await catch_up(exercise, settings, real.var_dir)  # what came due meanwhile
                incident = await incidents.get(ref=ref)
                await records.record_met(
                    ref=ref,
                    rule_key="uk-gdpr-33-ico",
                    at=min(utcnow(), incident.discovered_at + timedelta(hours=24)),
                    reference="ICO-DRILL-1",
                    actor="carol",
                    key=key,
                    settings=settings,
                )
                await _sleep_until(exercise, exercise.hours)
                applied = await catch_up(exercise, settings, real.var_dir)
                assert {a.inject.kind for a in applied} <= {
                    "affected_grows", "relay_outage", "bounces", "law_enforcement_hold"
                }  # fmt: skip
                grown = await Subject.filter(external_ref__startswith="EX-").count()
                hold = await IncidentFact.get(name=facts.DELAY)
        assert grown == 10  # 6 at the start, 4 more at hour 20
        assert hold.at == exercise.clock().moment_of(40 + 24)  # as of the inject's own hour
        assert all(r.recipient.endswith("@drill.example.com") for r in sink.handler.received)
        ended = await lifecycle.end(real, name="drill-72", actor="carol")

    clock = ended.clock()
    with isolation.activate(ended):
        async with db.database(settings.database_url):
            data = await report.build(ended, settings, now=clock.moment_of(ended.hours))
    assert [(i["hour"], i["kind"]) for i in data["injects"]] == [
        (20.0, "affected_grows"),
        (30.0, "relay_outage"),
        (36.0, "bounces"),
        (40.0, "law_enforcement_hold"),
    ]
    assert data["exercise_hour"] == 72.0
    first = data["hours_from_awareness_to_first_notice"]
    assert first is not None and 0 < first <= sent_by  # on the exercise clock, not the real one
    assert data["bounces"] == 2, json.dumps(data["injects"])
    ico = next(o for o in data["obligations"] if o["key"] == "uk-gdpr-33-ico")
    assert ico["verdict"] == "met" and ico["met_at"] is not None
    assert ico["due_hours_after_awareness"] == 72.0
    assert "no banner was published" in data["never_done"]
    assert any("uk-gdpr-34-people" in line for line in data["never_done"]) or any(
        o["key"] == "uk-gdpr-34-people" and o["verdict"] != "open" for o in data["obligations"]
    )

    started = await _real_events(real, "exercise.started")
    finished = await _real_events(real, "exercise.ended")
    assert [(e["actor"], e["target_id"]) for e in started] == [("carol", "drill-72")]
    assert started[0]["details"]["started_by"] == "carol"
    assert started[0]["details"]["mail_sink"] == f"127.0.0.1:{sink.port}"
    assert [(e["actor"], e["details"]["ended_by"]) for e in finished] == [("carol", "carol")]
    async with db.database(real.database_url):  # nothing of the rehearsal reached the real one
        assert await Incident.all().count() == 0
        assert await Delivery.all().count() == 0
        assert await AuditEvent.all().count() == 2


async def test_from_copies_the_incident_its_clock_facts_and_affected_people(
    real: Settings,
) -> None:
    async with db.database(real.database_url):
        incident = await people.make_incident(5, ref="INC-2026-0001")
        await Subject.filter(external_ref="S-1").update(jurisdiction="US-CA")  # moves exposure
        aware = utcnow() - timedelta(hours=30)
        await Incident.filter(id=incident.id).update(discovered_at=aware)
        await facts.set_facts(
            ref="INC-2026-0001",
            actor="carol",
            key=None,
            reason="forensics",
            clocks={facts.ClockKind("determined"): aware + timedelta(hours=2)},
        )
    exercise = await lifecycle.start(
        real, StartRequest(name="copy", speed=60.0, actor="dave", source_ref="INC-2026-0001")
    )
    assert exercise.incident_ref == "INC-2026-0001"
    async with db.database(exercise.database_url):
        copied = await Incident.get(ref="INC-2026-0001")
        assert copied.discovered_at == aware  # the real clock start is kept
        fact = await IncidentFact.get(name="determined")
        assert fact.at == aware + timedelta(hours=2)
        assert await Exposure.all().count() == 5
        assert await Subject.all().count() == 5
        # the copied exposures take the copied people's residence (migration 0014's trigger)
        assert await census_as_joined(copied.id) == {"GB": 4, "US-CA": 1}
    started = await _real_events(real, "exercise.started")
    assert started[0]["details"]["incident"] == "INC-2026-0001"  # `audit log --incident`


@pytest.mark.slow
async def test_an_exercise_cannot_reach_a_real_relay(real: Settings) -> None:
    async with smtp_server() as relay, smtp_server() as sink:
        exercise = await lifecycle.start(
            real,
            StartRequest(name="fence", speed=60.0, actor="carol", scenario_path=EXAMPLE,
                         sink_port=sink.port),
        )  # fmt: skip
        real_relay = real.smtp.model_copy(update={"host": "127.0.0.1", "port": relay.port})
        elsewhere = real.smtp.model_copy(update={"host": "smtp.example.com", "port": 587})
        with isolation.activate(exercise):
            for smtp in (real_relay, elsewhere):
                with pytest.raises(ExerciseRelayRefused) as caught:
                    async with SmtpPool(smtp) as pool:
                        await pool.send(
                            sender="a@example.com", recipient="b@example.com", data=b"x"
                        )
                line = str(caught.value)
                assert "\n" not in line
                assert line == (
                    f"exercise fence: refused to send to the relay {smtp.host}:{smtp.port}; an "
                    f"exercise sends only to its development mail sink 127.0.0.1:{sink.port}"
                )
            async with SmtpPool(isolation.exercise_settings(real, exercise).smtp) as pool:
                await pool.send(
                    sender="a@example.com", recipient="b@drill.example.com", data=b"x\r\n"
                )
        assert relay.handler.received == []
        assert [r.recipient for r in sink.handler.received] == ["b@drill.example.com"]


@pytest.mark.slow
async def test_a_scripted_outage_makes_the_sink_unreachable_for_its_hours(
    real: Settings,
) -> None:
    async with smtp_server() as sink:
        exercise = await lifecycle.start(
            real,
            StartRequest(name="outage", speed=100_000.0, actor="carol", scenario_path=EXAMPLE,
                         sink_port=sink.port),
        )  # fmt: skip
        smtp = isolation.exercise_settings(real, exercise).smtp
        with isolation.activate(exercise, isolation.scenario_of(real.var_dir, exercise)):
            await _sleep_until(exercise, 30.5)
            assert 30 <= exercise.clock().hour() < 34
            with pytest.raises(RelayUnavailableError, match="scripted relay outage"):
                async with SmtpPool(smtp) as pool:
                    await pool.send(sender="a@example.com", recipient="b@x.example", data=b"x")
        assert sink.handler.received == []


@pytest.mark.slow
async def test_names_taken_ended_and_bad_input_change_nothing(real: Settings) -> None:
    await lifecycle.start(
        real, StartRequest(name="once", speed=60.0, actor="c", scenario_path=EXAMPLE)
    )
    with pytest.raises(ConflictError, match="exists already"):
        await lifecycle.start(
            real, StartRequest(name="once", speed=60.0, actor="c", scenario_path=EXAMPLE)
        )
    with pytest.raises(ValidationError, match="--from INC"):
        await lifecycle.start(real, StartRequest(name="neither", speed=60.0, actor="c"))
    with pytest.raises(ValidationError, match="speed"):
        await lifecycle.start(
            real, StartRequest(name="fast", speed=0.5, actor="c", scenario_path=EXAMPLE)
        )
    with pytest.raises(ValidationError, match="port of the real relay"):
        await lifecycle.start(
            real,
            StartRequest(name="clash", speed=60.0, actor="c", scenario_path=EXAMPLE,
                         sink_port=real.smtp.port),
        )  # fmt: skip
    bad = real.var_dir / "bad.toml"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('[[inject]]\nhour = 1\nkind = "meteor"\n')
    with pytest.raises(ValidationError, match=r"bad.toml: inject 1 field 'kind'"):
        await lifecycle.start(
            real, StartRequest(name="bad", speed=60.0, actor="c", scenario_path=bad)
        )
    assert [e.name for e in registry.all_exercises(real.var_dir)] == ["once"]
    await lifecycle.end(real, name="once", actor="c")
    with pytest.raises(ConflictError, match="ended"):
        await lifecycle.end(real, name="once", actor="c")
    assert [e["target_id"] for e in await _real_events(real, "exercise.started")] == ["once"]
    await lifecycle.end(real, name="once", actor="c", discard=True)
    assert registry.all_exercises(real.var_dir) == []
    shutil.rmtree(real.var_dir / "exercises", ignore_errors=True)
