"""A TCP proxy on 127.0.0.1 that a test puts between the service and PostgreSQL or SMTP.

    async with fault_proxy("127.0.0.1", 5432) as proxy:
        url = f"postgres://postgres@127.0.0.1:{proxy.port}/db"
        proxy.cut()                       # every open connection is aborted, both sides
        await proxy.refuse()              # ... and new ones are refused (nothing listens)
        await proxy.accept()              # listening again, on the same port
        proxy.stall()                     # nothing gets through any more (bytes are dropped,
        proxy.resume()                    #   as on a path that black-holes packets)
        proxy.cut_on(b"UPDATE delivery", b"COMMIT", forward=True)

``cut_on`` arms a one-shot trigger: once one connection's client-to-server bytes contain the
patterns in that order, every connection is cut; ``forward=True`` lets the chunk holding the
last pattern reach the server first (a COMMIT that is carried out while its answer is lost).
``cuts`` counts the cuts, ``fired`` the triggers that went off, ``connections`` the
connections accepted so far.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class _Trigger:
    patterns: tuple[bytes, ...]
    forward: bool
    progress: dict[int, int] = field(default_factory=dict)  # connection -> patterns seen
    tails: dict[int, bytes] = field(default_factory=dict)

    def fires(self, conn: int, chunk: bytes) -> bool:
        seen = self.progress.get(conn, 0)
        data = self.tails.get(conn, b"") + chunk
        while seen < len(self.patterns):
            at = data.find(self.patterns[seen])
            if at < 0:
                break
            data = data[at + len(self.patterns[seen]) :]
            seen += 1
        self.progress[conn] = seen
        self.tails[conn] = data[-256:]
        return seen == len(self.patterns)


@dataclass
class _Pair:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            writer.transport.abort()


class FaultProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.cuts = 0
        self.fired = 0  # triggers of cut_on that went off
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._pairs: dict[int, _Pair] = {}
        self._stalled = False
        self._trigger: _Trigger | None = None
        self._deaf: set[int] = set()  # connections whose server's answers are dropped
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self) -> None:
        """Listen (again, on the same port once it has one)."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Stop listening (new connections are refused) and cut every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.cut()

    def cut(self) -> None:
        self.cuts += 1
        pairs, self._pairs = list(self._pairs.values()), {}
        for pair in pairs:
            pair.abort()

    def stall(self) -> None:
        self._stalled = True

    def resume(self) -> None:
        self._stalled = False

    def cut_on(self, *patterns: bytes, forward: bool = False) -> None:
        self._trigger = _Trigger(patterns, forward)

    @property
    def armed(self) -> bool:
        return self._trigger is not None

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._pairs[number] = _Pair(writer, up_writer)
        tasks = [
            asyncio.create_task(self._pump(number, reader, up_writer, to_server=True)),
            asyncio.create_task(self._pump(number, up_reader, writer, to_server=False)),
        ]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)
        pair = self._pairs.pop(number, None)
        if pair is not None:
            pair.abort()

    async def _pump(
        self,
        number: int,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        *,
        to_server: bool,
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                chunk = await source.read(65536)
                if not chunk:
                    break
                if self._stalled or number not in self._pairs:
                    continue  # black-holed
                if not to_server and number in self._deaf:
                    continue
                trigger = self._trigger
                if to_server and trigger is not None and trigger.fires(number, chunk):
                    self._trigger = None
                    self.fired += 1
                    if trigger.forward:
                        self._deaf.add(number)  # the server acts on it; its answer is lost
                        sink.write(chunk)
                        await sink.drain()
                        await asyncio.sleep(0.05)  # let the server act on it
                    self.cut()
                    break
                sink.write(chunk)
                await sink.drain()
        # one side closed: close the other, without passing on anything held
        pair = self._pairs.pop(number, None)
        if pair is not None:
            pair.abort()


@contextlib.asynccontextmanager
async def fault_proxy(host: str, port: int) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(host, port)
    await proxy.accept()
    try:
        yield proxy
    finally:
        await proxy.close()
