"""A real aiosmtpd server on 127.0.0.1, a free port, in the running loop; keeps what it got.

``refuse`` makes the next messages meet a reply of our choosing (one reply per message).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Catcher:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    refused: list[tuple[float, list[str]]] = field(default_factory=list)  # (loop time, rcpts)
    accepted_at: list[float] = field(default_factory=list)  # loop time of each message
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = asyncio.get_running_loop().time()
        if self.refuse:
            self.refused.append((now, list(envelope.rcpt_tos)))
            return self.refuse.pop(0)
        self.accepted_at.append(now)
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(data)))
        self.arrived.set()
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[Message]:
        return [message for rcpts, message in self.messages if address in rcpts]


@asynccontextmanager
async def smtp_catcher() -> AsyncIterator[Catcher]:
    catcher = Catcher()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(catcher, hostname="catcher.test"), "127.0.0.1", 0
    )
    catcher.port = server.sockets[0].getsockname()[1]
    try:
        yield catcher
    finally:
        server.close()
        await server.wait_closed()
