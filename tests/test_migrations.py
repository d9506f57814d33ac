"""Migrations apply on a fresh database (SQLite or PostgreSQL, by INCIDENT_SVC_TEST_DB), twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from incident_svc import db
from incident_svc.errors import SchemaError
from incident_svc.models import Subject
from tests.support import people
from tests.test_residence_kept import census_as_joined


@pytest.mark.slow
async def test_upgrade_on_fresh_database_twice(empty_database_url: str) -> None:
    await db.open_database(empty_database_url)
    try:
        assert (await db.schema_status()).state == "empty"
        with pytest.raises(SchemaError, match="incident-svc db upgrade"):
            await db.require_current_schema()
        applied = await db.upgrade()
        assert applied == db.available_migrations()
        assert await db.upgrade() == []  # idempotent
        status = await db.schema_status()
        assert status.state == "current" and status.pending == []
        await db.require_current_schema()
        # the tables exist and are usable
        _, rows = await connections.get("default").execute_query(
            "SELECT COUNT(*) AS n FROM audit_event"
        )
        assert dict(rows[0])["n"] == 0
    finally:
        await db.close_database()


async def test_database_newer_than_code_is_refused(db_conn: str) -> None:
    conn = connections.get("default")
    placeholder = "$1, $2, $3" if db.dialect() == "postgres" else "?, ?, ?"
    await conn.execute_query(
        f"INSERT INTO tortoise_migrations (app, name, applied_at) VALUES ({placeholder})",
        ["models", "9999_from_the_future", datetime(2030, 1, 1, tzinfo=UTC)],
    )
    status = await db.schema_status()
    assert status.state == "ahead" and status.unknown == ["9999_from_the_future"]
    with pytest.raises(SchemaError, match="newer incident-svc"):
        await db.require_current_schema()


def test_unsupported_database_url() -> None:
    from incident_svc.errors import ConfigError

    with pytest.raises(ConfigError, match="unsupported scheme"):
        db.tortoise_config("mysql://root@localhost/x")


def test_redact_url_hides_password() -> None:
    assert db.redact_url("postgres://u:s3cret@h:5432/d") == "postgres://u:***@h:5432/d"


async def test_0014_fills_the_residence_of_earlier_exposures_and_rolls_back(db_conn: str) -> None:
    """Down to 0013 (the column, its index and the triggers go) and up again: migration 0014
    fills the exposures written before it, and its triggers keep them from then on."""
    incident = await people.make_incident(4)
    conn = connections.get("default")
    executor = MigrationExecutor(conn, db.tortoise_config("sqlite://:memory:")["apps"])
    await executor.migrate([MigrationTarget("models", "0013_i20_retention")])
    assert (await db.schema_status()).pending == ["0014_i18_residence", "0015_i20_fillfactor"]
    # moved while nothing keeps the exposures: only the backfill can know
    await conn.execute_query("UPDATE subject SET jurisdiction = 'US-CA' WHERE external_ref = 'S-1'")
    assert await db.upgrade() == ["0014_i18_residence", "0015_i20_fillfactor"]
    assert await census_as_joined(incident.id) == {"GB": 3, "US-CA": 1}
    await Subject.filter(external_ref="S-2").update(jurisdiction="US")
    assert await census_as_joined(incident.id) == {"GB": 2, "US-CA": 1, "US": 1}


async def test_delivery_leaves_room_on_its_pages(db_conn: str) -> None:
    """0015: fillfactor 80 on PostgreSQL, so retention's updates can be HOT (docs/retention.md)."""
    if db.dialect() != "postgres":
        pytest.skip("SQLite has no fill factor (the migration is a no-op there)")
    _, rows = await connections.get("default").execute_query(
        "SELECT relname, reloptions FROM pg_class "
        "WHERE relname IN ('delivery', 'campaign_recipient') ORDER BY relname"
    )
    assert [(r["relname"], r["reloptions"]) for r in rows] == [
        ("campaign_recipient", ["fillfactor=80"]),
        ("delivery", ["fillfactor=80"]),
    ]
