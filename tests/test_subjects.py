"""Access and erasure for one person: the export holds everything, erasure keeps the proof
under a pseudonym, is audited without the address, and is refused while a campaign needs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident_svc.config import Settings
from incident_svc.domain.pseudonym import address_pseudonym, ref_pseudonym
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import (
    AuditEvent,
    CampaignRecipient,
    Delivery,
    Exposure,
    Holding,
    Subject,
)
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import subjects
from tests.support import campaign_setup, people
from tests.support.audit_chain_tools import cli
from tests.support.retention_data import KEY, aged, settle

ENV = {"INCIDENT_SVC_RETENTION__KEY": KEY.decode()}


async def _counts() -> tuple[int, int, int, int]:
    return (
        await Subject.all().count(),
        await Exposure.all().count(),
        await Delivery.filter(address__startswith="pseud:").count(),
        await AuditEvent.all().count(),
    )


async def test_export_then_erase_round_trip(db_conn: str, settings: Settings) -> None:
    data = await aged(3)
    await settle("INC-2026-0001", settings)
    subject = await Subject.get(external_ref="S-0")
    await Holding.create(subject=subject, system="crm", category="contact")

    held = await subjects.export("S-0", key=KEY)
    assert held["subject"]["email"] == people.address(0)
    assert held["holdings"] == [
        {"system": "crm", "category": "contact", "created_at": held["holdings"][0]["created_at"]}
    ]
    assert [(e["incident"], e["categories"]) for e in held["exposures"]] == [
        ("INC-2026-0001", ["contact"])
    ]
    assert {n["campaign_id"] for n in held["notices"]} == {data.old.id, data.recent.id}
    assert all(n["content_hash"] and n["message_id"] for n in held["notices"])
    assert len(held["approved_audiences"]) == 2

    done = await subjects.erase(
        "S-0",
        reason="erasure request #881",
        actor="dpo",
        key=KEY,
        audit_key=None,
        settings=settings,
    )
    assert done["notices"] == 2 and done["holdings"] == 1
    assert done["exposures"] == ["INC-2026-0001"]
    assert not await Subject.filter(external_ref="S-0").exists()
    assert not await Subject.filter(email=people.address(0)).exists()
    with pytest.raises(NotFoundError):
        await subjects.export("S-0", key=KEY)

    # the proof of each notice stays, under the pseudonyms
    pseudonym = address_pseudonym(KEY, people.address(0))
    kept = await Delivery.filter(address=pseudonym).order_by("id")
    assert [d.campaign_id for d in kept] == [data.old.id, data.recent.id]
    assert all(d.recipient_ref == ref_pseudonym(KEY, "S-0") for d in kept)
    assert [d.content_hash for d in kept] == [n["content_hash"] for n in held["notices"]]
    assert all(people.address(0) not in (d.smtp_reply or "") for d in kept)
    assert not await CampaignRecipient.filter(address=people.address(0)).exists()
    found = await subjects.match(people.address(0), key=KEY)
    assert {n["campaign_id"] for n in found["notices"]} == {data.old.id, data.recent.id}

    # audited once, without the address or the name; the chain verifies
    [event] = await AuditEvent.filter(action="subject.erased")
    assert event.target_id == ref_pseudonym(KEY, "S-0")
    assert "erasure request #881" in event.details
    for any_event in await AuditEvent.all():
        assert people.address(0) not in any_event.details
        assert "Person 0" not in any_event.details
    assert (await audit.verify(key=None)).intact
    # the others are untouched
    assert await Subject.filter(external_ref="S-1", email=people.address(1)).exists()


async def test_erasure_refused_while_a_campaign_in_progress_needs_them(
    db_conn: str, settings: Settings
) -> None:
    data = await aged(3)  # the sending campaign's only recipient is S-2
    await settle("INC-2026-0001", settings)
    before = await _counts()
    with pytest.raises(ConflictError) as refused:
        await subjects.erase(
            "S-2", reason="request", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    assert f"campaign {data.sending.id} (sending) still needs them" in str(refused.value)
    assert await _counts() == before
    await subjects.erase(
        "S-1", reason="request", actor="dpo", key=KEY, audit_key=None, settings=settings
    )


async def test_audit_events_of_a_campaign_hold_no_addresses_or_names(
    db_conn: str, settings: Settings
) -> None:
    await campaign_setup.scheduled_campaign(settings, subjects=5, at=None)
    events = await AuditEvent.all()
    assert {e.action for e in events} >= {"campaign.created", "campaign.approved"}
    for event in events:
        for n in range(5):
            assert people.address(n) not in event.details
            assert f"Person {n}" not in event.details


async def test_unknown_subject_and_bad_reason(db_conn: str, settings: Settings) -> None:
    await aged(2)
    with pytest.raises(NotFoundError):
        await subjects.erase(
            "S-99", reason="x", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    with pytest.raises(ValidationError):
        await subjects.erase(
            "S-0", reason="two\nlines", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    with pytest.raises(ValidationError):
        await subjects.erase(
            "S-0", reason="   ", actor="dpo", key=KEY, audit_key=None, settings=settings
        )
    assert await Subject.filter(external_ref="S-0").exists()


def _seed(url: str, settings: Settings | None = None) -> None:
    from tests.support.audit_chain_tools import in_db

    async def fill() -> None:
        await aged(3)
        if settings is not None:
            await settle("INC-2026-0001", settings)

    in_db(url, fill)


def test_cli_export_erase_and_match(database_url: str, tmp_path: Path, settings: Settings) -> None:
    _seed(database_url, settings)
    out = tmp_path / "s0.json"
    done = cli(database_url, "subject", "export", "S-0", "--out", str(out), env=ENV)
    assert done.code == 0, done.out
    assert json.loads(out.read_text())["subject"]["external_ref"] == "S-0"
    again = cli(database_url, "subject", "export", "S-0", "--out", str(out), env=ENV)
    assert again.code == 6  # exists: --force to replace
    erased = cli(database_url, "subject", "erase", "S-0", "--reason", "request 1", env=ENV)
    assert erased.code == 0, erased.out
    matched = cli(database_url, "retention", "match", "--address", people.address(0), "--json")
    assert matched.code == 2  # no retention key: one line, configuration
    matched = cli(
        database_url, "retention", "match", "--address", people.address(0), "--json", env=ENV
    )
    assert matched.code == 0 and len(json.loads(matched.out)["notices"]) == 2
    planned = cli(database_url, "retention", "plan", "--json", env=ENV)
    assert [p["rows"] for p in json.loads(planned.out)] == [2, 2, 0, 0, 0]
    ran = cli(database_url, "retention", "run", "--json", env=ENV)
    assert [r["rows"] for r in json.loads(ran.out)] == [2, 2, 0, 0, 0]


_HOSTILE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=400
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=_HOSTILE, reason=_HOSTILE, address=_HOSTILE)
def test_hostile_ref_reason_and_address_are_one_line_or_accepted(
    ref: str, reason: str, address: str
) -> None:
    for check, value in ((subjects.check_ref, ref), (subjects.check_address, address)):
        try:
            accepted: Any = check(value)
        except ValidationError as exc:
            assert "\n" not in str(exc)
        else:
            assert accepted and accepted.isprintable()
    try:
        from incident_svc.domain.incident_fields import one_line

        kept = one_line(reason, field="--reason", max_length=subjects.REASON_MAX)
    except ValidationError as exc:
        assert "\n" not in str(exc)
    else:
        assert "\n" not in kept and len(kept) <= subjects.REASON_MAX


@pytest.mark.parametrize(
    "args",
    [
        ["subject", "erase", "S-0\x1b[2J", "--reason", "r"],
        ["subject", "erase", "S-0", "--reason", "a\u2028b"],
        ["subject", "erase", "x" * 300, "--reason", "r"],
        ["retention", "match", "--address", "a\x00b"],
        ["retention", "match", "--address", " "],
        ["subject", "export", "S-0\n", "--out", "/nonexistent/dir/x.json"],
    ],
)
def test_cli_refuses_hostile_input_in_one_line(database_url: str, args: list[str]) -> None:
    _seed(database_url)
    done = cli(database_url, *args, env=ENV)
    assert done.code == 5, done.out
    assert "\n" not in done.out.strip()
    assert "Traceback" not in done.out
