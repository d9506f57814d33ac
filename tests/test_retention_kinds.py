"""Retention of bounce reports, exposures and former subjects on a database of known ages
(SQLite, PostgreSQL): exactly the expired rows of each kind change, the audit chain verifies,
and a person's address still finds what is kept about them through the pseudonym."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.domain.enums import DeliveryOutcome, IncidentStatus, ReportKind, Severity
from incident_svc.domain.pseudonym import address_pseudonym, ref_pseudonym
from incident_svc.domain.times import utcnow
from incident_svc.models import (
    AuditEvent,
    BounceReport,
    Delivery,
    Exposure,
    ExposureExpired,
    Incident,
    Subject,
)
from incident_svc.rawsql import query
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import retention, subjects
from tests.support import people
from tests.support.retention_data import KEY, Aged, aged, settle

NEW_KINDS = ("bounce_report", "exposure", "former_subject")


async def _age(table: str, column: str, row_id: int, days: int) -> None:
    """Set a stored time by SQL (``auto_now`` columns ignore the ORM's values)."""
    conn = connections.get("default")
    await query(conn, f"UPDATE {table} SET {column} = ? WHERE id = ?", [_ago(days), row_id])


def _ago(days: int) -> Any:
    return utcnow() - timedelta(days=days)


async def _incident(ref: str, status: IncidentStatus, closed_days_ago: int, refs: list[str]) -> int:
    incident = await Incident.create(
        ref=ref, title="old", summary="old", severity=Severity.LOW, status=status,
        discovered_at=_ago(closed_days_ago + 30), created_by="alice",
    )  # fmt: skip
    for ref_ in refs:
        subject = await Subject.get(external_ref=ref_)
        await Exposure.create(incident=incident, subject=subject, categories=["contact"])
    await _age("incident", "updated_at", incident.id, closed_days_ago)
    return incident.id


async def _report(delivery: Delivery, days: int, n: int) -> BounceReport:
    raw = f"Final-Recipient: rfc822; {delivery.address}\r\n\r\nreport {n}".encode()
    report = await BounceReport.create(
        sha256=f"{n:064x}", delivery=delivery, kind=ReportKind.DSN,
        outcome=DeliveryOutcome.BOUNCED, status="5.1.1",
        detail=f"smtp; 550 5.1.1 <{delivery.address.upper()}>: no such user",
        matched_by="verp", source="imap:bounces", content=raw, received_at=_ago(days),
    )  # fmt: skip
    return report


async def _known_ages(settings: Settings) -> tuple[Aged, dict[str, Any]]:
    """Five people; per kind, rows past their period and rows inside it."""
    data = await aged(5)  # S-4 is the sending campaign's recipient
    await settle("INC-2026-0001", settings)
    [first, second] = await Delivery.filter(campaign_id=data.old.id).order_by("id").limit(2)
    known: dict[str, Any] = {
        "old_report": await _report(first, 400, 1),  # past a year
        "new_report": await _report(second, 200, 2),
        "closed_long_ago": await _incident(
            "INC-2019-0001", IncidentStatus.CLOSED, 7 * 365, ["S-0", "S-1"]
        ),
        "closed_lately": await _incident("INC-2025-0001", IncidentStatus.CLOSED, 365, ["S-2"]),
        "open_long_ago": await _incident(
            "INC-2018-0001", IncidentStatus.NOTIFYING, 8 * 365, ["S-2"]
        ),
    }
    await settle("INC-2019-0001", settings)
    for ref, days in (("S-3", 3 * 365), ("S-4", 3 * 365), ("S-2", 365)):
        subject = await Subject.get(external_ref=ref)
        await _age("subject", "left_at", subject.id, days)
    return data, known


async def test_each_new_kind_changes_exactly_its_expired_rows(
    db_conn: str, settings: Settings
) -> None:
    data, known = await _known_ages(settings)
    reports = {r.id: r for r in await BounceReport.all()}
    exposures = sorted(await Exposure.all().values_list("incident_id", "subject_id"))
    s3 = await Subject.get(external_ref="S-3")

    planned = {p.kind: p for p in await retention.plan(settings)}
    assert [planned[k].rows for k in NEW_KINDS] == [1, 2, 1]
    assert planned["exposure"].by_date[0]["rows"] == 2
    [held] = planned["former_subject"].held
    assert held.startswith("S-4: ") and f"campaign {data.sending.id} (sending)" in held

    results = {
        r.kind: r for r in await retention.run(settings, key=KEY, audit_key=None, actor="ops")
    }
    assert [results[k].rows for k in NEW_KINDS] == [1, 2, 1]
    assert results["former_subject"].held == [held]

    # bounce reports: the old one's raw text goes and its diagnostic names the pseudonym; the
    # SHA-256, outcome and status stay; the recent one is untouched
    old = await BounceReport.get(id=known["old_report"].id)
    address = people.address(0)
    assert bytes(old.content) == b"" and old.sha256 == reports[old.id].sha256
    assert old.detail == f"smtp; 550 5.1.1 <{address_pseudonym(KEY, address)}>: no such user"
    assert (old.status, old.outcome, old.delivery_id) == (
        "5.1.1",
        "bounced",
        reports[old.id].delivery_id,
    )
    new = await BounceReport.get(id=known["new_report"].id)
    assert (
        bytes(new.content) == bytes(reports[new.id].content)
        and new.detail == reports[new.id].detail
    )

    # exposures: those of the incident closed long ago become pseudonymous rows, the others
    # stay (S-3's moved with their erasure)
    left = sorted(await Exposure.all().values_list("incident_id", "subject_id"))
    gone = {(known["closed_long_ago"], sid) for _, sid in exposures} & set(exposures)
    assert set(left) == set(exposures) - gone - {e for e in exposures if e[1] == s3.id}
    expired = await ExposureExpired.filter(incident_id=known["closed_long_ago"]).order_by("id")
    assert [e.address_pseudonym for e in expired] == [
        address_pseudonym(KEY, people.address(n)) for n in (0, 1)
    ]
    assert [e.ref_pseudonym for e in expired] == [ref_pseudonym(KEY, f"S-{n}") for n in (0, 1)]
    assert all(e.jurisdiction == "GB" and e.categories == ["contact"] for e in expired)

    # former subjects: S-3 is erased (history pseudonymised), S-4 is held, S-2 left lately
    assert not await Subject.filter(external_ref="S-3").exists()
    assert await Subject.filter(external_ref__in=["S-2", "S-4"]).count() == 2
    kept = await Delivery.filter(address=address_pseudonym(KEY, people.address(3)))
    assert {d.campaign_id for d in kept} == {data.old.id, data.recent.id}
    assert all(d.recipient_ref == ref_pseudonym(KEY, "S-3") and d.content_hash for d in kept)

    # the chain verifies; no event holds an address; a second run changes nothing new
    verdict = await audit.verify(key=None)
    assert verdict.intact, verdict
    for event in await AuditEvent.all():
        assert "@example.org" not in event.details
    batches = await AuditEvent.filter(action="retention.batch").values_list("target_id", flat=True)
    assert {"bounce_report", "exposure", "former_subject"} <= set(batches)
    again = {r.kind: r for r in await retention.run(settings, key=KEY, audit_key=None, actor="ops")}
    assert [again[k].rows for k in NEW_KINDS] == [0, 0, 0]
    assert again["former_subject"].held == [held]

    # a person's address still finds their ledger rows and the incidents that affected them
    found = await subjects.match(people.address(0), key=KEY)
    assert [e["incident"] for e in found["exposures"]] == ["INC-2019-0001"]
    assert {n["campaign_id"] for n in found["notices"]} == {data.old.id, data.recent.id}
    erased = await subjects.match(people.address(3), key=KEY)
    assert [e["incident"] for e in erased["exposures"]] == ["INC-2026-0001"]
    assert {n["address"] for n in erased["notices"]} == {erased["pseudonym"]}


async def test_new_periods_are_overridable(
    db_conn: str, settings: Settings, settings_for: Any, database_url: str
) -> None:
    await _known_ages(settings)
    longer = settings_for(
        database_url,
        retention={"bounce_report_days": 500, "exposure_days": 8 * 365, "former_subject_days": 1},
    )
    planned = {p.kind: p for p in await retention.plan(longer)}
    # no report is 500 days old, no incident closed 8 years ago; S-2 left a year ago now counts,
    # and is held as S-4 is: an open obligation of INC-2025-0001 still needs them
    assert [planned[k].rows for k in NEW_KINDS] == [0, 0, 1]
    held = planned["former_subject"].held
    assert [h.split(":")[0] for h in held] == ["S-2", "S-4"]
    assert "INC-2025-0001 obligation uk-gdpr-33-ico" in held[0]
    shorter = settings_for(database_url, retention={"bounce_report_days": 100})
    assert {p.kind: p for p in await retention.plan(shorter)}["bounce_report"].rows == 2


async def test_database_and_python_pseudonyms_agree(db_conn: str, settings: Settings) -> None:
    """PostgreSQL hashes plain ASCII addresses itself and leaves the rest to Python: either
    way an address gets the pseudonym `retention match` computes (any case, NFKC)."""
    data = await aged(6)
    odd = ["MiXeD.Case@Example.ORG", "ána@exämple.org", "ＦＵＬＬ@example.org", "a b@example.org"]
    old = await Delivery.filter(campaign_id=data.old.id).order_by("id")
    for delivery, address in zip(old, odd, strict=False):
        await Delivery.filter(id=delivery.id).update(address=address, smtp_reply=f"250 <{address}>")
    await retention.run(settings, key=KEY, audit_key=None, actor="ops")
    after = {d.id: d for d in await Delivery.filter(campaign_id=data.old.id)}
    for delivery, address in zip(old, odd, strict=False):
        kept = after[delivery.id]
        assert kept.address == address_pseudonym(KEY, address), address
        assert kept.smtp_reply == f"250 <{kept.address}>"
    for delivery in old[len(odd) :]:
        assert after[delivery.id].address == address_pseudonym(KEY, delivery.address)
    found = await subjects.match("mixed.case@example.org", key=KEY)
    assert [n["id"] for n in found["notices"]] == [old[0].id]
