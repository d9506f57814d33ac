"""Migrations apply on a fresh database (SQLite or PostgreSQL, by INCIDENT_SVC_TEST_DB), twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise import connections

from incident_svc import db
from incident_svc.errors import SchemaError


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


async def test_delivery_leaves_room_on_its_pages(db_conn: str) -> None:
    """0014: fillfactor 80 on PostgreSQL, so retention's updates can be HOT (docs/retention.md)."""
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
