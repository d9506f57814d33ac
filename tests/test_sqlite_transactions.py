"""A transaction cancelled or failing while it begins never leaves the connection locked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import connections

from incident_svc.db import dialect, write_transaction
from incident_svc.db_engines.sqlite import ImmediateTransactionWrapper
from incident_svc.models import AuditEvent
from incident_svc.services import audit


@pytest.fixture
def sqlite_only(db_conn: str) -> None:
    if dialect(connections.get("default")) != "sqlite":
        pytest.skip("the guarded transaction context is SQLite's")


async def append(n: int) -> None:
    async with write_transaction() as conn:
        await audit.record(
            conn, actor="t", action="test", target_type="t", target_id=str(n), details={}, key=None
        )


@pytest.mark.parametrize("after_begin", [False, True], ids=["before BEGIN", "after BEGIN"])
async def test_a_transaction_cancelled_while_it_begins_releases_the_connection(
    sqlite_only: None, monkeypatch: pytest.MonkeyPatch, after_begin: bool
) -> None:
    real_begin = ImmediateTransactionWrapper.begin
    entered = asyncio.Event()

    async def stuck_begin(self: Any) -> None:
        if after_begin:
            await real_begin(self)  # BEGIN IMMEDIATE done: the write lock is held
        entered.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(ImmediateTransactionWrapper, "begin", stuck_begin)
    stuck = asyncio.create_task(append(1))
    await asyncio.wait_for(entered.wait(), timeout=5)
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    monkeypatch.setattr(ImmediateTransactionWrapper, "begin", real_begin)

    await asyncio.wait_for(append(2), timeout=5)  # hung for good before the fix
    assert [e.target_id for e in await AuditEvent.all().order_by("seq")] == ["2"]
    assert (await audit.verify(key=None)).intact


async def test_a_begin_that_fails_releases_the_connection(
    sqlite_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_begin(self: Any) -> None:
        raise OSError("disk I/O error")

    real_begin = ImmediateTransactionWrapper.begin
    monkeypatch.setattr(ImmediateTransactionWrapper, "begin", failing_begin)
    with pytest.raises(OSError, match="disk I/O"):
        await append(1)
    monkeypatch.setattr(ImmediateTransactionWrapper, "begin", real_begin)
    await asyncio.wait_for(append(2), timeout=5)
    assert await AuditEvent.all().count() == 1
