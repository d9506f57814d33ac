"""A transaction cancelled or failing while it begins gives its connection back (both backends).

SQLite: the connection's transaction lock; PostgreSQL: the pool's connection (5 by default,
so the cancellations below outnumber it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import TransactionWrapper as PostgresWrapper

from incident_svc.db import dialect, write_transaction
from incident_svc.db_engines.sqlite import ImmediateTransactionWrapper
from incident_svc.models import AuditEvent
from incident_svc.services.auditlog import audit

CANCELLATIONS = 8  # more than PostgreSQL's pool holds


@pytest.fixture
def wrapper(db_conn: str) -> type[Any]:
    """The class whose ``begin`` opens this backend's transactions."""
    if dialect(connections.get("default")) == "postgres":
        return PostgresWrapper
    return ImmediateTransactionWrapper


async def append(n: int) -> None:
    async with write_transaction() as conn:
        await audit.record(
            conn, actor="t", action="test", target_type="t", target_id=str(n), details={}, key=None
        )


@pytest.mark.parametrize("after_begin", [False, True], ids=["before BEGIN", "after BEGIN"])
async def test_a_transaction_cancelled_while_it_begins_releases_the_connection(
    wrapper: type[Any], monkeypatch: pytest.MonkeyPatch, after_begin: bool
) -> None:
    real_begin = wrapper.begin

    async def stuck_begin(self: Any) -> None:
        if after_begin:
            await real_begin(self)  # the transaction is open (SQLite: the write lock held)
        entered.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(wrapper, "begin", stuck_begin)
    for n in range(CANCELLATIONS):
        entered = asyncio.Event()
        stuck = asyncio.create_task(append(100 + n))
        await asyncio.wait_for(entered.wait(), timeout=5)
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
    monkeypatch.setattr(wrapper, "begin", real_begin)

    await asyncio.wait_for(append(2), timeout=5)  # hung for good before the fix
    assert [e.target_id for e in await AuditEvent.all().order_by("seq")] == ["2"]
    assert (await audit.verify(key=None)).intact


async def test_a_begin_that_fails_releases_the_connection(
    wrapper: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_begin(self: Any) -> None:
        raise OSError("disk I/O error")

    real_begin = wrapper.begin
    monkeypatch.setattr(wrapper, "begin", failing_begin)
    for n in range(CANCELLATIONS):
        with pytest.raises(OSError, match="disk I/O"):
            await append(100 + n)
    monkeypatch.setattr(wrapper, "begin", real_begin)
    await asyncio.wait_for(append(2), timeout=5)
    assert await AuditEvent.all().count() == 1
