"""Database connection, migrations and schema checks, for SQLite and PostgreSQL.

``database_url`` chooses the backend: ``sqlite://PATH`` (the embedded default, a file created
on demand, WAL mode) or ``postgres://user:pass@host:port/db`` (asyncpg).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import BaseORMException, ConfigurationError, DBConnectionError
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.transactions import in_transaction

from incident_svc.errors import ConfigError, DatabaseError, DatabaseUnavailableError, SchemaError

APP = "models"
MIGRATIONS_MODULE = "incident_svc.migrations"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = "run `incident-svc db upgrade`"

# What a statement the database refuses raises: Tortoise translates some driver errors into
# its own, not all (asyncpg's RaiseError from a trigger or a check comes through as it is).
STATEMENT_ERRORS: tuple[type[Exception], ...] = (
    BaseORMException,
    asyncpg.PostgresError,
    sqlite3.Error,
)


class NoDatabaseError(SchemaError):
    """The SQLite file does not exist and this command does not create one."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite://`` URL (None for PostgreSQL and ``:memory:``)."""
    if urlparse(database_url).scheme != "sqlite":
        return None
    path = database_url[len("sqlite://") :]
    return Path(path) if path and path != ":memory:" else None


def require_existing(database_url: str) -> None:
    """Refuse a SQLite file that does not exist yet: only `db upgrade` creates one, so that a
    command run from the wrong folder never leaves an empty database behind."""
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        raise NoDatabaseError(
            f"no database at {path.resolve()} (database_url {database_url}): "
            f"{UPGRADE_HINT} to create it, or run from the folder that has it"
        )


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for one database URL."""
    return {
        "connections": {"default": _connection_config(database_url)},
        "apps": {
            APP: {
                "models": ["incident_svc.models"],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_config(database_url: str) -> dict[str, Any]:
    scheme = urlparse(database_url).scheme
    if scheme == "sqlite":
        path = database_url[len("sqlite://") :]
        if not path:
            raise ConfigError("database_url: sqlite:// needs a file path", key="database_url")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "engine": "incident_svc.db_engines.sqlite",
            "credentials": {"file_path": path, "journal_mode": "WAL"},
        }
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        try:
            config = expand_db_url(database_url.replace(f"{scheme}://", "postgres://", 1))
        except ConfigurationError as exc:
            raise ConfigError(f"database_url: {exc}", key="database_url") from None
        config["engine"] = "incident_svc.db_engines.postgres"
        return config
    raise ConfigError(
        f"database_url: unsupported scheme {scheme!r}; use sqlite://PATH or postgres://...",
        key="database_url",
    )


def dialect(connection: BaseDBAsyncClient | None = None) -> str:
    """'sqlite' or 'postgres'."""
    conn = connection or connections.get("default")
    return str(conn.capabilities.dialect)


def redact_url(database_url: str) -> str:
    parsed = urlparse(database_url)
    if parsed.password:
        return database_url.replace(f":{parsed.password}@", ":***@", 1)
    return database_url


async def open_database(database_url: str) -> None:
    """Connect Tortoise to the database (no schema check)."""
    try:
        await Tortoise.init(config=tortoise_config(database_url))
        await connections.get("default").execute_query("SELECT 1")
    except OSError as exc:  # refused, unreachable, timed out: a fault that may pass
        raise DatabaseUnavailableError(
            f"cannot reach the database at {redact_url(database_url)}: {exc}; nothing was "
            "changed: run the same command again when it answers"
        ) from None
    except DBConnectionError as exc:
        raise DatabaseError(
            f"cannot reach the database at {redact_url(database_url)}: {exc}"
        ) from None


async def close_database() -> None:
    await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def database(
    database_url: str, *, check_schema: bool = True, create: bool = True
) -> AsyncIterator[None]:
    """Open the database for the duration of a block; refuse a schema the code does not match.
    With ``create=False`` a SQLite file that does not exist is refused, not created."""
    if not create:
        require_existing(database_url)
    await open_database(database_url)
    try:
        if check_schema:
            await require_current_schema()
        yield
    finally:
        await close_database()


def write_transaction() -> Any:
    """A transaction for a state change and its audit event (BEGIN IMMEDIATE on SQLite)."""
    return in_transaction("default")


@dataclass(frozen=True)
class SchemaStatus:
    applied: list[str]
    available: list[str]

    @property
    def pending(self) -> list[str]:
        return [name for name in self.available if name not in self.applied]

    @property
    def unknown(self) -> list[str]:
        """Applied migrations this code does not have: the database is newer than the code."""
        return [name for name in self.applied if name not in self.available]

    @property
    def state(self) -> str:
        if self.unknown:
            return "ahead"
        if not self.applied:
            return "empty"
        return "behind" if self.pending else "current"


def available_migrations() -> list[str]:
    return sorted(
        path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py") if not path.name.startswith("__")
    )


async def schema_status() -> SchemaStatus:
    conn = connections.get("default")
    recorder = MigrationRecorder(conn)
    applied = [key.name for key in await recorder.applied_migrations() if key.app_label == APP]
    return SchemaStatus(applied=applied, available=available_migrations())


async def require_current_schema() -> None:
    status = await schema_status()
    if status.state == "empty":
        raise SchemaError(f"the database has no schema yet: {UPGRADE_HINT}")
    if status.state == "behind":
        raise SchemaError(
            f"the database schema is behind the code ({', '.join(status.pending)} not applied): "
            f"{UPGRADE_HINT}"
        )
    if status.state == "ahead":
        raise SchemaError(
            "the database was migrated by a newer incident-svc "
            f"({', '.join(status.unknown)} unknown here): upgrade incident-svc before using it"
        )


async def upgrade() -> list[str]:
    """Apply every pending migration; idempotent. Returns the names applied."""
    before = await schema_status()
    if before.state == "ahead":
        await require_current_schema()
    conn = connections.get("default")
    config = tortoise_config("sqlite://:memory:")["apps"]
    executor = MigrationExecutor(conn, config)
    await executor.migrate()
    after = await schema_status()
    return [name for name in after.applied if name not in before.applied]
