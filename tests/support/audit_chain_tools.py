"""What the audit tests do to a real database: write events, and rewrite the chain as an
insider with write access to the table would (with the key, another key, or none)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tortoise import connections
from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.domain.audit_chain import GENESIS_HASH, Link, link_hash
from incident_svc.errors import IncidentSvcError
from incident_svc.rawsql import placeholders
from incident_svc.services.auditlog import audit

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a fresh event loop with the database open (for synchronous tests)."""

    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


@dataclass
class Outcome:
    code: int
    out: str


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """The real command in this process; our errors come back as their exit code and line."""
    full = {"INCIDENT_SVC_DATABASE_URL": url, **(env or {})}
    result = CliRunner().invoke(app, list(args), env=full)
    if isinstance(result.exception, IncidentSvcError):
        return Outcome(result.exception.exit_code, str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.output)


async def append(n: int, *, key: bytes | None, action: str = "test.event") -> None:
    for i in range(n):
        async with db.write_transaction() as conn:
            await audit.record(
                conn,
                actor="alice",
                action=action,
                target_type="test",
                target_id=str(i),
                details={"i": i},
                key=key,
            )


async def execute(statement: str, values: list[object] | None = None) -> None:
    conn = connections.get("default")
    await conn.execute_query(placeholders(statement, conn), values or [])


async def rechain(*, key: bytes | None, edit_seq: int | None = None) -> None:
    """Recompute every hash (after changing the actor of ``edit_seq``), as a forger would."""
    links = [link async for link in audit.iter_links()]
    prev = GENESIS_HASH
    for link in links:
        actor = "mallory" if link.seq == edit_seq else link.actor
        fields = {**link.__dict__, "actor": actor, "prev_hash": prev, "hash": ""}
        new_hash = link_hash(Link(**fields), key)
        await execute(
            "UPDATE audit_event SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [actor, prev, new_hash, link.seq],
        )
        prev = new_hash
