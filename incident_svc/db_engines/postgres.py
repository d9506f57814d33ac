"""PostgreSQL (asyncpg) whose transactions give their connection back even when they fail
to begin.

Tortoise's pooled transaction context takes a connection from the pool, then begins; a task
cancelled in between (a lease renewal stopped when its batch ends, a service shutting down)
never reaches ``__aexit__``, and the connection is never returned: after ``maxsize`` such
cancellations (5 by default) every later transaction waits for the pool forever. Here the
connection goes back to the pool (asyncpg rolls back what it holds) before the error goes on.
"""

from __future__ import annotations

import asyncio

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


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
                await asyncio.shield(pool.release(self.client._connection))
            finally:
                get_connections().reset(self.token)
            raise
        return self.client


class GuardedAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return GuardedPooledContext(TransactionWrapper(self), self._pool_init_lock)


client_class = GuardedAsyncpgClient
