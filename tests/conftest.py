"""Shared fixtures: a real, migrated database per test, on SQLite or PostgreSQL.

The backend comes from INCIDENT_SVC_TEST_DB (``sqlite``, the default, or ``postgres``), so every
test that uses ``db`` runs against either. PostgreSQL is reached at INCIDENT_SVC_TEST_PG_URL
(default ``postgres://postgres@127.0.0.1:5432/postgres``). The schema is migrated once per
session into a template; each test gets a copy (a file copy on SQLite, ``CREATE DATABASE ...
TEMPLATE`` on PostgreSQL), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from incident_svc import db
from incident_svc.config import Settings, load_settings
from tests.support.databases import (
    BACKEND,
    admin_execute,
    pg_url,
)


def _migrate(url: str) -> None:
    async def main() -> None:
        await db.open_database(url)
        try:
            await db.upgrade()
        finally:
            await db.close_database()

    asyncio.run(main())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that per-test databases are copied from: a file path or a db name."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _migrate(f"sqlite://{path}")
        yield str(path)
        return
    name = f"incsvc_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    _migrate(pg_url(name))
    try:
        yield name
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated, empty database for this test only."""
    if BACKEND == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite://{path}"
        return
    name = f"incsvc_t_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield pg_url(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if BACKEND == "sqlite":
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    name = f"incsvc_e_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _own_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's state folder is its own: an audit key or checkpoint file left in the
    project's var/ (by `db upgrade` run by hand) must never reach a test."""
    monkeypatch.setenv("INCIDENT_SVC_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
async def db_conn(database_url: str) -> AsyncIterator[str]:
    """Tortoise connected to this test's database for the duration of the test."""
    await db.open_database(database_url)
    try:
        yield database_url
    finally:
        await db.close_database()


@pytest.fixture
def settings_for(tmp_path: Path) -> Any:
    """Build Settings from a dict of overrides (plus this test's var_dir)."""

    def build(database_url: str, **overrides: Any) -> Settings:
        merged: dict[str, Any] = {"database_url": database_url, "var_dir": str(tmp_path / "var")}
        merged.update(overrides)
        return load_settings(overrides=merged)

    return build


@pytest.fixture
def settings(database_url: str, settings_for: Any) -> Settings:
    return settings_for(database_url)  # type: ignore[no-any-return]
