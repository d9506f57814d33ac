"""SQLite for several processes: every transaction takes the write lock when it begins.

Tortoise opens transactions with a deferred ``BEGIN``: two processes can then both read the
audit chain's head and the later one fails when it tries to write (SQLITE_BUSY, which no busy
timeout can cure). ``BEGIN IMMEDIATE`` makes the second writer wait its turn instead
(``busy_timeout``), so read-then-write transactions such as the audit append stay linear.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            # Tortoise commits before every BEGIN; the connection is in autocommit mode, so
            # that is a round trip to the database thread for nothing unless a transaction
            # is somehow open (a delivery group commit makes five round trips without it)
            if self._connection.in_transaction:
                await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class GuardedTransactionContext(SqliteTransactionContext):
    """Tortoise's context, except that a transaction that fails to begin lets go of the lock.

    Tortoise takes the connection's transaction lock, then begins; if the task is cancelled
    (a lease renewal stopped when its batch ends, a service shutting down) or BEGIN fails in
    between, its ``__aexit__`` never runs and the lock is held for good: every later
    transaction of the process waits forever. Here the half-begun transaction is rolled
    back and the lock released before the error goes on.
    """

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
        except BaseException:
            self._trxlock.release()
            raise
        try:
            await self.connection.begin()
        except BaseException:
            try:
                await asyncio.shield(self._roll_back_quietly())
            finally:
                get_connections().reset(self.token)
                self._trxlock.release()
            raise
        return self.connection  # type: ignore[no-any-return]

    async def _roll_back_quietly(self) -> None:
        # BEGIN may still run after a cancellation: aiosqlite executes in order, so this
        # ROLLBACK comes after it (and does nothing if no transaction began)
        with contextlib.suppress(sqlite3.Error, ValueError):
            await self.connection._connection.rollback()


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", 60000)
        kwargs.setdefault("synchronous", "NORMAL")
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> SqliteTransactionContext:
        return GuardedTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
