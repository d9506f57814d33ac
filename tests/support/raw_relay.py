"""A raw asyncio listener on 127.0.0.1 that fails an SMTP connection's setup as a test asks,
or passes every byte on to a real server once the test says so.

    async with raw_relay("busy") as relay:       # SMTP on 127.0.0.1:relay.port
        ...                                      # every connection meets the fault
        relay.forward_to(server.host, server.port)   # from now on: a plain TCP relay

Faults (``relay.mode``):

- ``busy``: greets ``421 4.3.2 busy`` and closes;
- ``busy_at_ehlo``: greets 220, answers EHLO with ``421 4.3.2 closing`` and closes;
- ``cut_hello``: closes the connection when the client's first bytes (a TLS ClientHello)
  come; ``alert_hello``: answers them with a fatal TLS alert (handshake_failure) and closes;
- ``starttls_cut``, ``starttls_alert``: greet, offer STARTTLS, answer it ``220`` and then do
  the same to the ClientHello that follows.

``connections`` counts the connections accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

# a TLS record: alert (21), TLS 1.2, two bytes: fatal (2), handshake_failure (40)
FATAL_ALERT = bytes([21, 3, 3, 0, 2, 2, 40])


class RawRelay:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self.connections = 0
        self._upstream: tuple[str, int] | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def forward_to(self, host: str, port: int) -> None:
        self._upstream = (host, port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            with contextlib.suppress(OSError, ConnectionError):
                if self._upstream is not None:
                    await self._forward(reader, writer, self._upstream)
                else:
                    await self._fail(reader, writer)
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def _fail(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode == "busy":
            await _say(writer, b"421 4.3.2 busy\r\n")
            return
        if mode.startswith("starttls_") or mode == "busy_at_ehlo":
            await _say(writer, b"220 relay.test ESMTP\r\n")
            while not (await reader.readline()).upper().startswith(b"EHLO"):
                await _say(writer, b"250 ok\r\n")
            if mode == "busy_at_ehlo":
                await _say(writer, b"421 4.3.2 closing\r\n")
                return
            await _say(writer, b"250-relay.test\r\n250 STARTTLS\r\n")
            if not (await reader.readline()).upper().startswith(b"STARTTLS"):
                return
            await _say(writer, b"220 2.0.0 ready to start TLS\r\n")
        await reader.read(5)  # the ClientHello's first bytes
        if mode.endswith("alert") or mode == "alert_hello":
            await _say(writer, FATAL_ALERT)

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to: tuple[str, int]
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*to)
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            up_writer.transport.abort()


async def _say(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()  # one side closed: so does the other


@contextlib.asynccontextmanager
async def raw_relay(mode: str) -> AsyncIterator[RawRelay]:
    relay = RawRelay(mode)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.close()
