"""Lawful disclosures against a real database and a real SMTP server: record, four-eyes
release approval, release when the period ends, and the review of an indefinite hold."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings
from incident_svc.domain import disclosure as rules
from incident_svc.errors import ConflictError, ValidationError
from incident_svc.mail.internal_message import InternalMessage
from incident_svc.models import AuditEvent, Disclosure, DisclosureNotice, Matter
from incident_svc.services.disclosure import disclosure_jobs, disclosures
from tests.support import disclosure_setup, people
from tests.support.smtp_catcher import Catcher, smtp_catcher

TEAM = "team@security.test"
RECEIVED, AUTHORITY, BASIS = (
    disclosure_setup.RECEIVED,
    disclosure_setup.AUTHORITY,
    disclosure_setup.BASIS,
)


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    async with smtp_catcher() as server:
        yield server


@pytest.fixture
def config(db_conn: str, settings_for: Any, catcher: Catcher) -> Settings:
    base: Settings = settings_for(
        db_conn, security_team_email=TEAM, smtp={"host": catcher.host, "port": catcher.port}
    )
    return disclosure_setup.signed_settings(base)


def sender(settings: Settings) -> Any:
    async def send(message: InternalMessage) -> object:
        return await aiosmtplib.send(
            message.data, sender=message.sender, recipients=[message.recipient],
            hostname=settings.smtp.host, port=settings.smtp.port,
        )  # fmt: skip

    return send


async def test_held_until_the_period_ends_and_counsel_approved(
    config: Settings, tmp_path: Path
) -> None:
    until = datetime.now(UTC) + timedelta(days=30)
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_until=until)
    assert (made.ref, made.subject_count, made.status) == (
        f"DIS-{datetime.now(UTC).year}-0001",
        3,
        "held",
    )
    assert await DisclosureNotice.filter(disclosure_id=made.id, status="held").count() == 3
    matter = await Matter.get(id=made.matter_id)  # type: ignore[attr-defined]
    assert (matter.kind, matter.reference) == ("disclosure", made.ref)
    event = await AuditEvent.get(action="disclosure.recorded")
    assert AUTHORITY not in event.details and BASIS not in event.details
    assert json.loads(event.details)["people"] == 3

    with pytest.raises(ConflictError, match="cannot be approved for release"):
        await disclosure_setup.approve(config, made.ref, "alice")  # who recorded it
    await disclosure_setup.approve(config, made.ref, "bob")
    assert await disclosure_jobs.next_wakeup(now=RECEIVED) == until
    send = sender(config)
    assert await disclosure_jobs.run_due(now=until - timedelta(seconds=1), settings=config,
                                         send=send, key=None) == []  # fmt: skip
    assert await disclosure_jobs.run_due(now=until, settings=config, send=send, key=None) == [
        made.ref
    ]
    after = await disclosures.get(made.ref)
    assert (after.status, after.released_at) == ("released", until)
    assert await DisclosureNotice.filter(disclosure_id=made.id, status="released").count() == 3
    assert await AuditEvent.filter(action="disclosure.released").count() == 1
    assert await disclosure_jobs.run_due(now=until, settings=config, send=send, key=None) == []


async def test_an_indefinite_hold_is_reviewed_and_confirmed(
    config: Settings, tmp_path: Path, catcher: Catcher
) -> None:
    made = await disclosure_setup.record(config, tmp_path, non_disclosure_indefinite=True)
    await disclosure_setup.approve(config, made.ref, "bob")  # approved, but the order still applies
    review = made.next_review_at
    assert review is not None and timedelta(days=89) < review - datetime.now(UTC) <= timedelta(
        days=90
    )
    send = sender(config)
    assert await disclosure_jobs.run_due(now=review - timedelta(hours=1), settings=config,
                                         send=send, key=None) == []  # fmt: skip
    assert await disclosure_jobs.run_due(now=review, settings=config, send=send, key=None) == [
        made.ref
    ]
    [mail] = catcher.to(TEAM)
    assert made.ref in mail["Subject"] and AUTHORITY not in mail.as_string()
    assert (await disclosures.get(made.ref)).status == "held"  # never released by time alone

    confirmed = await disclosures.confirm_hold(
        ref=made.ref, reason="Counsel: the order stands", actor="carol", key=None, settings=config
    )
    assert confirmed.next_review_at is not None and confirmed.next_review_at > review
    event = await AuditEvent.get(action="disclosure.hold_confirmed")
    assert (event.actor, json.loads(event.details)["reason"]) == (
        "carol",
        "Counsel: the order stands",
    )
    await disclosures.end_hold(ref=made.ref, reason="Order discharged", actor="carol", key=None)
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await disclosure_jobs.run_due(now=later, settings=config, send=send, key=None) == [
        made.ref
    ]
    assert len(catcher.to(TEAM)) == 1


async def test_bad_input_names_the_place_and_records_nothing(
    config: Settings, tmp_path: Path
) -> None:
    await people.make_incident(2)
    refs = tmp_path / "people.txt"
    refs.write_text("S-0\nS-404\n")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"subjects_file": refs}, "people.txt field 'subjects': no subject 'S-404' (1 unknown)"),
        ({"authority": "  "}, "field 'authority': must not be empty"),
        ({"authority": "Police\nForce"}, "control character U+000A"),
        ({"categories": ["contact", "dna"]}, "'dna' is not one of"),
        ({"withheld": ["everything"]}, "field 'withheld'"),
        ({"non_disclosure_until": RECEIVED - timedelta(days=1)}, "ends before the request"),
        ({"non_disclosure_until": RECEIVED, "non_disclosure_indefinite": True}, "not both"),
    ]
    good = tmp_path / "good.txt"
    good.write_text("S-0\n")
    for change, message in cases:
        fields: dict[str, Any] = {"authority": AUTHORITY, "legal_basis": BASIS,
                                  "received_at": RECEIVED, "subjects_file": good,
                                  "categories": ["contact"], **change}  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            await disclosures.record(request=disclosures.RecordRequest(**fields), actor="alice",
                                     key=None, settings=config, signed=disclosure_setup.signed("alice"))  # fmt: skip
        assert message in str(caught.value) and "\n" not in str(caught.value)
    assert await Disclosure.all().count() == 0 and await AuditEvent.all().count() == 0


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_hostile_authority_text(text: str) -> None:
    try:
        kept = rules.check_text(text, field="authority", limit=rules.MAX_AUTHORITY)
    except ValidationError as exc:
        assert str(exc).startswith("field 'authority': ") and "\n" not in str(exc)
        return
    assert kept == text.strip() and 0 < len(kept) <= rules.MAX_AUTHORITY
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in kept)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_hostile_subjects_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "subjects.txt"
    path.write_bytes(content)
    try:
        refs = disclosures.read_subject_refs(path)
    except ValidationError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return
    assert all(r and len(r) <= 128 and not any(c.isspace() for c in r) for r in refs)
    assert len(refs) == len(set(refs))
