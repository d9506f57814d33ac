"""Issue 19, part 1: matters. The migration gives every existing incident its matter and links
its campaigns and banners; new incidents, campaigns and banners get theirs as they are made."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.enums import MatterKind, Severity
from incident_svc.domain.times import utcnow
from incident_svc.models import Banner, Campaign, Matter
from incident_svc.services.incident import incidents
from tests.support import signers

_NOW = "'2026-01-02 03:04:05+00:00'"


async def _rows(sql: str) -> list[dict[str, object]]:
    _, rows = await connections.get("default").execute_query(sql)
    return [dict(row) for row in rows]


async def _old_data() -> None:
    """Two incidents, a campaign and two banners, written as the 0004 schema had them."""
    conn = connections.get("default")
    for number in (1, 2):
        await conn.execute_script(
            "INSERT INTO incident (ref, title, summary, severity, status, discovered_at, "
            "systems, categories, jurisdictions, account_refs, texts, affected_count, "
            f"created_by, created_at, updated_at) VALUES ('INC-2026-000{number}', "
            f"'Old incident {number}', 's', 'high', 'confirmed', {_NOW}, '[]', '[]', '[]', "
            f"'[]', '{{}}', 0, 'alice', {_NOW}, {_NOW})"
        )
    [first] = await _rows("SELECT id FROM incident WHERE ref = 'INC-2026-0001'")
    incident_id = first["id"]
    await conn.execute_script(
        "INSERT INTO campaign (incident_id, kind, channels, audience_count, status, created_by, "
        "approval_required, approval_source, created_at, updated_at) VALUES "
        f"({incident_id}, 'subject_notice', '[\"email\"]', 0, 'draft', 'alice', TRUE, '', "
        f"{_NOW}, {_NOW})"
    )
    for incident in (str(incident_id), "NULL"):
        await conn.execute_script(
            "INSERT INTO banner (incident_id, audience, severity, texts, content_hashes, "
            "starts_at, serve_count, created_by, created_at, updated_at) VALUES "
            f"({incident}, 'public', 'warning', '{{}}', '{{}}', {_NOW}, 0, 'alice', {_NOW}, "
            f"{_NOW})"
        )


@pytest.mark.slow
async def test_migration_gives_old_incidents_their_matters(empty_database_url: str) -> None:
    await db.open_database(empty_database_url)
    try:
        config = db.tortoise_config("sqlite://:memory:")["apps"]
        executor = MigrationExecutor(connections.get("default"), config)
        await executor.migrate([MigrationTarget("models", "0004_relay_state")])
        await _old_data()
        await db.upgrade()
        matters = await Matter.all().order_by("reference").prefetch_related("incident")
        assert [(m.kind, m.reference, m.title) for m in matters] == [
            (MatterKind.INCIDENT, "INC-2026-0001", "Old incident 1"),
            (MatterKind.INCIDENT, "INC-2026-0002", "Old incident 2"),
        ]
        assert matters[0].incident is not None and matters[0].incident.ref == "INC-2026-0001"
        campaign = await Campaign.get()
        assert campaign.matter_id == matters[0].id  # type: ignore[attr-defined]
        banners = await Banner.all().order_by("id").values_list("matter_id", flat=True)
        assert banners == [matters[0].id, None]  # a banner of no incident has no matter
    finally:
        await db.close_database()


async def test_new_incident_and_its_campaign_get_the_matter(
    db_conn: str, settings: Settings
) -> None:
    incident = await incidents.create(
        actor="alice",
        key=None,
        title="Bucket left open",
        summary="A storage bucket was public.",
        severity=Severity.HIGH,
        discovered_at=utcnow(),
        systems=["crm"],
        categories=["contact"],
    )
    matter = await Matter.get(reference=incident.ref)
    assert (matter.kind, matter.title) == (MatterKind.INCIDENT, "Bucket left open")
    assert matter.incident_id == incident.id  # type: ignore[attr-defined]
    campaign = await signers.create_signed(incident.ref, by="alice")
    assert (await Campaign.get(id=campaign.id)).matter_id == matter.id  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_upgrade_from_the_first_schema_keeps_existing_campaigns(
    empty_database_url: str,
) -> None:
    """Every column added to a table with rows has a default in the database: a campaign
    written under 0001 survives every later migration, strict about approval."""
    await db.open_database(empty_database_url)
    try:
        config = db.tortoise_config("sqlite://:memory:")["apps"]
        executor = MigrationExecutor(connections.get("default"), config)
        await executor.migrate([MigrationTarget("models", "0001_initial")])
        conn = connections.get("default")
        await conn.execute_script(
            "INSERT INTO incident (ref, title, summary, severity, status, discovered_at, "
            "systems, categories, jurisdictions, account_refs, texts, affected_count, "
            f"created_by, created_at, updated_at) VALUES ('INC-2026-0001', 'Old', 's', "
            f"'high', 'confirmed', {_NOW}, '[]', '[]', '[]', '[]', '{{}}', 0, 'alice', "
            f"{_NOW}, {_NOW})"
        )
        [first] = await _rows("SELECT id FROM incident")
        await conn.execute_script(
            "INSERT INTO campaign (incident_id, kind, channels, audience_count, status, "
            f"created_by, created_at, updated_at) VALUES ({first['id']}, 'subject_notice', "
            f"'[\"email\"]', 0, 'draft', 'alice', {_NOW}, {_NOW})"
        )
        await db.upgrade()
        campaign = await Campaign.get()
        assert campaign.approval_required is True and campaign.approval_source == ""
        assert str(campaign.audience) == "all" and campaign.audience_groups == {}
        # 0011: the incident column takes a campaign of another matter; old rows keep theirs
        matter = await Matter.get(reference="INC-2026-0001")
        assert campaign.matter_id == matter.id  # type: ignore[attr-defined]
        assert campaign.incident_id == first["id"]  # type: ignore[attr-defined]
        other = await Matter.create(kind=MatterKind.POLICY_CHANGE, reference="POLICY-1", title="P")
        made = await Campaign.create(
            matter_id=other.id, kind="policy_change_notice", channels=["email"], created_by="a"
        )
        assert (await Campaign.get(id=made.id)).incident_id is None  # type: ignore[attr-defined]
    finally:
        await db.close_database()
