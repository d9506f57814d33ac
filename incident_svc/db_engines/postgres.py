"""PostgreSQL (asyncpg) whose transactions give their connection back even when they fail
to begin.

Tortoise's pooled transaction context takes a connection from the pool, then begins; a task
cancelled in between (a lease renewal stopped when its batch ends, a service shutting down)
never reaches ``__aexit__``, and the connection is never returned: after ``maxsize`` such
cancellations (5 by default) every later transaction waits for the pool forever. Here the
connection goes back to the pool (asyncpg rolls back what it holds) before the error goes on.

Leaving a transaction, Tortoise gives the connection back and only then resets the task's
connection variable; when giving back raises (closing a connection of an expired generation
that the server already cut, db_faults._fresh_connections), the variable keeps pointing at
the released connection and every later transaction of that task (and of tasks it starts)
fails with "connection has been released back to the pool". Here the variable is always
reset, and a failure to give back a dead connection is not an error of the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

# what giving back a connection the server cut may raise (asyncpg may already have taken it
# back itself when the connection closed: "release() called on a free connection holder")
_RELEASE_ERRORS = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


class GuardedPooledContext(TransactionContextPooled):
    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            try:
                with contextlib.suppress(*_RELEASE_ERRORS):
                    await asyncio.shield(pool.release(self.client._connection))
            finally:
                get_connections().reset(self.token)
            raise
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            if not self.client._finalized:
                if exc_type is None:
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self.client.rollback()
        finally:
            try:
                pool = self.client._parent._pool
                if pool:
                    with contextlib.suppress(*_RELEASE_ERRORS):
                        await asyncio.shield(pool.release(self.client._connection))
            finally:
                get_connections().reset(self.token)


class GuardedAsyncpgClient(AsyncpgDBClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # asyncpg prepares every statement; after five runs PostgreSQL may switch a prepared
        # statement to a generic plan that ignores the values. For our set-based statements
        # with long IN lists that plan reads every exposure of the incident instead of the
        # batch's 500: loading a batch's people went from 1.4 to 29 ms with 5,000 exposures,
        # and grows with the incident. Planning each run costs a fraction of a millisecond.
        self.server_settings.setdefault("plan_cache_mode", "force_custom_plan")

    def _in_transaction(self) -> TransactionContext:
        return GuardedPooledContext(TransactionWrapper(self), self._pool_init_lock)


client_class = GuardedAsyncpgClient
