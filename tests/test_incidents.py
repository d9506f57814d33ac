"""Incidents against a real database: numbering, validation, audited changes, lifecycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from incident_svc.domain.enums import IncidentStatus, Severity
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import Account, AuditEvent, Incident
from incident_svc.services.incident import incidents

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


async def _create(**overrides: Any) -> Incident:
    values: dict[str, Any] = {
        "actor": "alice",
        "key": None,
        "title": "CRM export exposed",
        "summary": "A CSV export of the CRM was readable from the internet.",
        "severity": Severity.HIGH,
        "discovered_at": T0,
        "systems": ["crm", " billing "],
        "categories": ["contact", "PAYMENT_CARD"],
    }
    values.update(overrides)
    return await incidents.create(**values)


async def _last_event() -> tuple[str, dict[str, Any]]:
    event = await AuditEvent.all().order_by("-seq").first()
    assert event is not None
    return event.action, json.loads(event.details)


async def test_create_numbers_and_normalises(db_conn: str) -> None:
    first = await _create(texts={"zh_hant_hk": {"what_happened": "資料外洩"}})
    second = await _create(title="Second")
    year = datetime.now(UTC).year
    assert (first.ref, second.ref) == (f"INC-{year}-0001", f"INC-{year}-0002")
    stored = await incidents.get(ref=first.ref.lower())
    assert stored.systems == ["billing", "crm"]
    assert stored.categories == ["contact", "payment_card"]
    assert stored.texts == {"zh-Hant-HK": {"what_happened": "資料外洩"}}
    assert stored.status == IncidentStatus.INVESTIGATING
    action, details = await _last_event()
    assert (action, details["incident"], details["title"]) == (
        "incident.create",
        second.ref,
        "Second",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"categories": ["shoe_size"]}, "categories"),
        ({"systems": []}, "systems"),
        ({"jurisdictions": ["GB", "XX"]}, "jurisdictions"),
        ({"title": "two\nlines"}, "title"),
        ({"occurred_from": T0.replace(day=29)}, "discovered_at"),
        ({"account_refs": ["NOPE"]}, "accounts"),
        ({"texts": {"en": {"shoes": "x"}}}, "texts.en"),
        ({"texts": {"xx-QQ": {"contact": "x"}}}, "texts.xx-QQ"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    db_conn: str, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await _create(**overrides)
    assert caught.value.field == field
    assert await Incident.all().count() == 0
    assert await AuditEvent.all().count() == 0


async def test_update_audits_old_and_new(db_conn: str) -> None:
    await Account.create(
        account_ref="ACME", name="Acme", region="APAC", holder_email="a@x.example", holder_name="A"
    )
    incident = await _create(texts={"en": {"contact": "privacy@example.com"}})
    _, diff = await incidents.update(
        ref=incident.ref,
        actor="bob",
        key=None,
        changes={"severity": Severity.CRITICAL, "account_refs": ["ACME"], "title": incident.title},
        texts={"en": {"contact": ""}, "zh-Hant-HK": {"protective_steps": "請更改密碼"}},
    )
    assert diff == {
        "severity": {"old": "high", "new": "critical"},
        "account_refs": {"old": [], "new": ["ACME"]},
        "texts": {
            "old": {"en": {"contact": "privacy@example.com"}},
            "new": {"zh-Hant-HK": {"protective_steps": "請更改密碼"}},
        },
    }
    action, details = await _last_event()
    assert action == "incident.update" and details["changes"] == diff
    stored = await incidents.get(ref=incident.ref)
    assert stored.severity == Severity.CRITICAL and stored.account_refs == ["ACME"]


async def test_update_with_no_change_records_nothing(db_conn: str) -> None:
    incident = await _create()
    before = await AuditEvent.all().count()
    _, diff = await incidents.update(
        ref=incident.ref, actor="bob", key=None, changes={"severity": Severity.HIGH}
    )
    assert diff == {}
    assert await AuditEvent.all().count() == before


async def test_lifecycle_refuses_illegal_moves_listing_allowed(db_conn: str) -> None:
    incident = await _create()
    with pytest.raises(ConflictError) as caught:
        await incidents.set_status(
            ref=incident.ref, status=IncidentStatus.CLOSED, actor="a", key=None
        )
    assert "allowed statuses are: confirmed, dismissed" in str(caught.value)
    for step in (IncidentStatus.CONFIRMED, IncidentStatus.NOTIFYING, IncidentStatus.CLOSED):
        await incidents.set_status(ref=incident.ref, status=step, actor="a", key=None, reason="ok")
    action, details = await _last_event()
    assert (action, details["old"], details["new"]) == ("incident.status", "notifying", "closed")
    assert (await incidents.get(ref=incident.ref)).status == IncidentStatus.CLOSED


async def test_get_unknown_reference(db_conn: str) -> None:
    with pytest.raises(NotFoundError):
        await incidents.get(ref="INC-2026-9999")


async def test_regulator_notified(db_conn: str) -> None:
    incident = await _create()
    at = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    await incidents.regulator_notified(
        ref=incident.ref, at=at, reference="PCPD-123", actor="a", key=None
    )
    stored = await incidents.get(ref=incident.ref)
    assert (stored.regulator_notified_at, stored.regulator_reference) == (at, "PCPD-123")
    action, details = await _last_event()
    assert (action, details["reference"]) == ("incident.regulator_notified", "PCPD-123")
