"""Which database backend the tests use, and admin statements for PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse, urlunparse

BACKEND = os.environ.get("INCIDENT_SVC_TEST_DB", "sqlite").lower()
if BACKEND not in {"sqlite", "postgres"}:
    raise RuntimeError(f"INCIDENT_SVC_TEST_DB must be sqlite or postgres, not {BACKEND!r}")

PG_ADMIN_URL = os.environ.get(
    "INCIDENT_SVC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def pg_url(database: str) -> str:
    parsed = urlparse(PG_ADMIN_URL)
    return urlunparse(parsed._replace(path=f"/{database}"))


def admin_execute(statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) outside any transaction."""
    import asyncpg

    async def main() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    # in a thread of its own, so that it works whether or not an event loop is running here
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()
