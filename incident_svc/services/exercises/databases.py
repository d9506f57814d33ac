"""An exercise's own database: a SQLite file in its folder, or a PostgreSQL database of its own
on the real server (``<real database>_ex_<name>``), created and migrated at start.

A separate PostgreSQL database, not a schema: Tortoise and the migrations address tables
without a schema prefix, and a database cannot be reached by a query of the real one, so no
exercise row can land in a real table. The real database's role needs CREATEDB.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse, urlunparse

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.errors import ConfigError, DatabaseError
from incident_svc.services.auditlog import audit_key

_PG = {"postgres", "postgresql", "asyncpg"}


def url_for(real_url: str, name: str, folder: Path) -> str:
    """The exercise database's URL, on the same kind of database as the real one."""
    scheme = urlparse(real_url).scheme
    if scheme == "sqlite":
        return f"sqlite://{(folder / 'exercise.sqlite3').resolve()}"
    if scheme in _PG:
        parsed = urlparse(real_url)
        base = parsed.path.lstrip("/") or "postgres"
        database = f"{base[:40]}_ex_{name.replace('-', '_')}"[:63]
        return urlunparse(parsed._replace(path=f"/{database}"))
    raise ConfigError(f"database_url: unsupported scheme {scheme!r}", key="database_url")


def _pg_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _admin_dsn(url: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(scheme="postgresql", path="/postgres"))


async def _pg_admin(url: str, statement: str) -> None:
    import asyncpg  # PostgreSQL only

    try:
        conn = await asyncpg.connect(_admin_dsn(url))
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"exercise database: cannot reach the server: {exc}") from None
    try:
        await conn.execute(statement)
    except asyncpg.PostgresError as exc:
        raise DatabaseError(f"exercise database: {exc}") from None
    finally:
        await conn.close()


async def create(url: str) -> None:
    """Create the (empty) exercise database; a PostgreSQL one must not exist yet."""
    if urlparse(url).scheme in _PG:
        await _pg_admin(url, f'CREATE DATABASE "{_pg_name(url)}"')


async def drop(url: str) -> None:
    """Remove the exercise database (the SQLite file, or DROP DATABASE)."""
    path = db.sqlite_path(url)
    if path is not None:
        _remove_sqlite(path)
        return
    await _pg_admin(url, f'DROP DATABASE IF EXISTS "{_pg_name(url)}" WITH (FORCE)')


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def migrate(settings: Settings) -> None:
    """Apply the schema and give the exercise its own audit key (in its folder)."""
    async with db.database(settings.database_url, check_schema=False, create=True):
        await db.upgrade()
        await audit_key.ensure_key(settings)
