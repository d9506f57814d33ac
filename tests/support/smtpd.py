"""A real aiosmtpd server on 127.0.0.1 port 0, with faults chosen per test and per address.

    async with smtp_server() as server:
        server.faults["a@example.com"] = [Reply("450 4.2.0 busy"), Reply("421 4.3.2 bye")]
        ...  # the first two messages to a@example.com meet those faults, the third is accepted
        server.received  # every accepted message, in order

A fault is used up by one message. ``Reply(text, at="rcpt"|"data")`` answers with ``text``
(``Reply(text, at="mail")``, keyed by the sender's address, answers MAIL FROM);
``Disconnect()`` drops the connection in the middle of DATA; ``Stall(seconds)`` waits before
answering the end of DATA (past the client's timeout); ``AcceptThenDrop()`` stores the
message and drops the connection before the reply (the RFC 1047 window).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Reply:
    text: str
    at: str = "data"  # "mail", "rcpt" or "data"


@dataclass(frozen=True)
class Disconnect:
    pass


@dataclass(frozen=True)
class Stall:
    seconds: float


@dataclass(frozen=True)
class AcceptThenDrop:
    pass


Fault = Reply | Disconnect | Stall | AcceptThenDrop


@dataclass
class Received:
    sender: str
    recipient: str
    data: bytes
    mail_options: tuple[str, ...] = ()  # MAIL FROM parameters (SMTPUTF8, ...)

    @property
    def message_id(self) -> str | None:
        match = _MESSAGE_ID.search(self.data)
        return match.group(1).decode() if match else None


@dataclass
class FaultyHandler:
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    sessions: int = 0
    logins: list[tuple[str, bool, bool]] = field(default_factory=list)  # (user, ok, over TLS)

    def _take(self, address: str, at: str) -> Fault | None:
        """The next fault for this address if it belongs to this stage, used up."""
        pending = self.faults.get(address)
        if not pending:
            return None
        stage = pending[0].at if isinstance(pending[0], Reply) else "data"
        return pending.pop(0) if stage == at else None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        fault = self._take(address, "mail")
        if isinstance(fault, Reply):
            return fault.text
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        fault = self._take(address, "rcpt")
        if isinstance(fault, Reply):
            return fault.text
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        address = envelope.rcpt_tos[0]
        fault = self._take(address, "data")
        if isinstance(fault, Reply):
            return fault.text
        if isinstance(fault, Disconnect):
            server.transport.abort()  # type: ignore[union-attr]
            return "451 never seen"
        if isinstance(fault, Stall):
            await asyncio.sleep(fault.seconds)
        content = envelope.original_content or envelope.content or b""
        options = tuple(envelope.mail_options)
        message = Received(str(envelope.mail_from), address, bytes(content), options)
        self.received.append(message)
        if isinstance(fault, AcceptThenDrop):
            server.transport.abort()  # type: ignore[union-attr]
            return "250 never seen"
        return "250 2.0.0 Ok: queued"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: FaultyHandler

    @property
    def faults(self) -> dict[str, list[Fault]]:
        return self.handler.faults

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def _authenticator(handler: FaultyHandler, credentials: dict[str, str]) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        user = data.login.decode() if isinstance(data, LoginPassword) else ""
        ok = isinstance(data, LoginPassword) and credentials.get(user) == data.password.decode()
        tls = server.transport is not None and bool(server.transport.get_extra_info("sslcontext"))
        handler.logins.append((user, ok, tls))
        return AuthResult(success=ok, handled=False)  # handled=True: the client gets no answer

    return check


@asynccontextmanager
async def smtp_server(
    *,
    credentials: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    **smtp_options: Any,
) -> AsyncIterator[SmtpServer]:
    """Serve on 127.0.0.1, a free port, in the running loop, until the block ends.

    ``tls``: implicit TLS from the first byte with this context; ``starttls``: offer (and
    require) STARTTLS with it. With ``credentials`` AUTH is required, and under STARTTLS
    only after it (aiosmtpd cannot tell an implicit TLS listener apart, but there every
    byte is encrypted anyway).
    """
    handler = FaultyHandler()
    if starttls is not None:
        smtp_options.update(tls_context=starttls, require_starttls=True)
    if credentials is not None:
        smtp_options.update(
            auth_required=True,
            auth_require_tls=starttls is not None,
            authenticator=_authenticator(handler, credentials),
        )

    def protocol() -> SMTP:
        handler.sessions += 1
        with warnings.catch_warnings():
            # AUTH without TLS is what the test wants; aiosmtpd warns about it
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(handler, hostname="sink.test", ident="test-smtpd", **smtp_options)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        server.close()
        await server.wait_closed()
