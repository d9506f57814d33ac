"""Obligations against a real database (SQLite or PostgreSQL by INCIDENT_SVC_TEST_DB): residence
counts, facts with their audit, met by campaigns and substitute banners, records and evidence."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incident_svc.config import Settings
from incident_svc.domain.compliance import ClockKind, Status
from incident_svc.domain.compliance.vocabulary import Flag
from incident_svc.domain.enums import DeliveryStatus
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import AuditEvent, IncidentFact, ObligationRecord
from incident_svc.services.auditlog import audit
from incident_svc.services.obligations import facts as facts_service
from incident_svc.services.obligations import records
from incident_svc.services.obligations.compute import obligations_for
from incident_svc.services.obligations.residence import reach_by_code, residents_by_code
from tests.support.obligation_data import AWARE, incident_with, notify, substitute_banner

pytestmark = pytest.mark.usefixtures("db_conn")
REF = "INC-2026-0001"


async def test_residents_are_counted_by_residence_as_stored() -> None:
    incident = await incident_with({"US-CA": 3, "US": 2, "GB": 1})
    assert await residents_by_code(incident.id) == {"US-CA": 3, "US": 2, "GB": 1}


async def test_facts_are_recorded_audited_and_feed_the_engine(settings: Settings) -> None:
    await incident_with({"US-CO": 2})
    determined = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    diff = await facts_service.set_facts(
        ref=REF, actor="bob", key=None, reason="forensics report",
        clocks={ClockKind.DETERMINED: determined}, flags={Flag.HIGH_RISK: True},
    )  # fmt: skip
    assert diff == {
        "determined": {"old": None, "new": determined.isoformat()},
        "high_risk": {"old": None, "new": True},
    }
    event = await AuditEvent.filter(action="incident.facts").get()
    assert event.actor == "bob" and "forensics report" in event.details
    computed = await obligations_for(ref=REF, settings=settings, at=determined)
    co = computed.find("co-people")
    assert co is not None and co.due_at == determined + timedelta(days=30)
    # unchanged values are no change; --unset removes a fact, audited too
    assert (
        await facts_service.set_facts(
            ref=REF,
            actor="bob",
            key=None,
            reason="again",
            clocks={ClockKind.DETERMINED: determined},
        )
        == {}
    )
    await facts_service.set_facts(
        ref=REF, actor="bob", key=None, reason="wrong", unset=["high_risk"]
    )
    assert await IncidentFact.filter(name="high_risk").count() == 0
    verdict = await audit.verify(key=None)
    assert verdict.intact and verdict.checked == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clocks": {ClockKind.AWARE: datetime.now(UTC) + timedelta(days=2)}}, "aware"),
        ({"unset": ["nonsense"]}, "unset"),
        ({}, "facts"),
        ({"flags": {Flag.HIGH_RISK: True}, "unset": ["high_risk"]}, "high_risk"),
    ],
)
async def test_bad_facts_change_nothing(kwargs: dict[str, object], field: str) -> None:
    await incident_with({"GB": 1})
    with pytest.raises(ValidationError) as caught:
        await facts_service.set_facts(ref=REF, actor="bob", key=None, reason="r", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert await IncidentFact.all().count() == 0 and await AuditEvent.all().count() == 0


async def test_people_are_met_by_notices_sent_and_substitute_banners(settings: Settings) -> None:
    incident = await incident_with({"US-CA": 3, "US-TX": 1})
    await facts_service.set_facts(
        ref=REF,
        actor="bob",
        key=None,
        reason="r",
        clocks={ClockKind.DISCOVERED: AWARE, ClockKind.DETERMINED: AWARE},
    )
    sent = AWARE + timedelta(days=2)
    await notify(incident, ["US-CA-0", "US-CA-1"], sent)
    await notify(incident, ["US-CA-2"], sent, status=DeliveryStatus.FAILED)  # bounced for good
    reach = await reach_by_code(incident.id)
    assert (reach["US-CA"].residents, reach["US-CA"].reached) == (3, 2)
    computed = await obligations_for(ref=REF, settings=settings, at=sent)
    assert computed.find("ca-people").status is Status.OPEN  # type: ignore[union-attr]
    await substitute_banner(incident, "US-CA-2", sent + timedelta(days=1))
    computed = await obligations_for(ref=REF, settings=settings, at=sent + timedelta(days=1))
    ca = computed.find("ca-people")
    assert ca is not None and ca.status is Status.MET and ca.met_at == sent + timedelta(days=1)
    assert computed.find("tx-people").status is Status.OPEN  # type: ignore[union-attr]


async def test_met_with_evidence_late_needs_a_reason_and_records_once(
    settings: Settings, tmp_path: Path
) -> None:
    await incident_with({"GB": 2})
    evidence = tmp_path / "ico receipt.pdf"
    evidence.write_bytes(b"%PDF-1.7 receipt")
    late_at = AWARE + timedelta(hours=80)
    with pytest.raises(ValidationError) as caught:
        await records.record_met(
            ref=REF,
            rule_key="uk-gdpr-33-ico",
            at=late_at,
            reference="ICO-1",
            actor="bob",
            key=None,
            settings=settings,
        )
    assert caught.value.field == "late_reason" and await ObligationRecord.all().count() == 0
    done = await records.record_met(
        ref=REF, rule_key="uk-gdpr-33-ico", at=late_at, reference="ICO-1", actor="bob", key=None,
        settings=settings, evidence=evidence, late_reason="waited for the forensic report",
    )  # fmt: skip
    import hashlib

    digest = hashlib.sha256(b"%PDF-1.7 receipt").hexdigest()
    assert done.late and done.record.evidence_sha256 == digest and done.record.evidence_size == 16
    assert (settings.var_dir / "evidence" / digest).read_bytes() == b"%PDF-1.7 receipt"
    assert done.record.retain_until is not None  # UK: six years
    with pytest.raises(ConflictError, match="already recorded as met"):
        await records.record_met(
            ref=REF,
            rule_key="uk-gdpr-33-ico",
            at=late_at,
            reference="ICO-2",
            actor="bob",
            key=None,
            settings=settings,
            late_reason="x",
        )
    computed = await obligations_for(ref=REF, settings=settings)
    ico = computed.find("uk-gdpr-33-ico")
    assert (
        ico is not None and ico.status is Status.MET and ico.met_late and ico.reference == "ICO-1"
    )
    assert await AuditEvent.filter(action="obligation.met").count() == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
async def test_evidence_must_be_a_small_regular_file(
    settings_for: object, database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, compliance={"evidence_max_bytes": 10})  # type: ignore[operator]
    await incident_with({"GB": 1})
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 11)
    for path, message in (
        (fifo, "not a regular file"),
        (big, "larger than"),
        (Path("/dev/zero"), "not a regular file"),
        (tmp_path / "none", "cannot read"),
    ):
        with pytest.raises(ValidationError, match=message):
            await records.record_met(
                ref=REF,
                rule_key="uk-gdpr-33-ico",
                at=AWARE,
                reference="r",
                actor="bob",
                key=None,
                settings=settings,
                evidence=path,
            )
    assert await ObligationRecord.all().count() == 0


async def test_declined_is_kept_with_reason_and_who(settings: Settings) -> None:
    await incident_with({"US-FL": 1})
    await facts_service.set_facts(
        ref=REF, actor="bob", key=None, reason="r", clocks={ClockKind.DETERMINED: AWARE}
    )
    done = await records.record_declined(
        ref=REF,
        rule_key="fl-people",
        reason="no-harm determination",
        actor="dpo",
        key=None,
        settings=settings,
    )
    assert (
        done.record.kind == "declined" and done.record.retain_until is not None
    )  # Florida: 5 years
    found = (await obligations_for(ref=REF, settings=settings)).find("fl-people")
    assert found is not None and found.status is Status.NOT_APPLICABLE and found.decided_by == "dpo"
    with pytest.raises(NotFoundError):
        await records.record_declined(
            ref=REF, rule_key="no-such-rule", reason="x", actor="dpo", key=None, settings=settings
        )
    with pytest.raises(ConflictError, match="does not apply"):
        await records.record_declined(
            ref=REF, rule_key="tx-people", reason="x", actor="dpo", key=None, settings=settings
        )
