"""The report mailbox over IMAP (aioimaplib): list unseen messages, read one without marking
it, and mark it handled (\\Seen, or moved to another mailbox).

aioimaplib's errors and refusals become ours at this boundary: a refused login is a
:class:`ConfigError` naming the setting (never the password); anything else, a
:class:`MailboxError` that the next poll may not meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator

import aioimaplib

from incident_svc.config_bounces import ImapSettings
from incident_svc.errors import ConfigError, IncidentSvcError

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(IncidentSvcError):
    """The IMAP server could not be reached or refused a command."""


class ImapMailbox:
    def __init__(self, client: aioimaplib.IMAP4, settings: ImapSettings) -> None:
        self._client = client
        self._settings = settings

    async def unseen(self) -> list[str]:
        """UIDs of the messages without \\Seen, oldest first."""
        response = await self._ok(self._client.uid_search("UNSEEN"), "SEARCH")
        words = b" ".join(line for line in response.lines[:-1] if isinstance(line, bytes)).split()
        return [word.decode() for word in words if word.isdigit()]

    async def size(self, uid: str) -> int | None:
        response = await self._ok(self._client.uid("fetch", uid, "(RFC822.SIZE)"), "FETCH")
        for line in response.lines:
            match = _SIZE.search(bytes(line))
            if match:
                return int(match.group(1))
        return None  # gone meanwhile

    async def read(self, uid: str) -> bytes | None:
        """The whole message, without setting \\Seen (BODY.PEEK); None when it is gone."""
        response = await self._ok(self._client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH")
        literals = [line for line in response.lines if isinstance(line, bytearray)]
        return bytes(literals[0]) if literals else None

    async def mark_done(self, uid: str) -> None:
        target = self._settings.processed_mailbox
        if not target:
            await self._ok(self._client.uid("store", uid, "+FLAGS", "(\\Seen)"), "STORE")
            return
        await self._ok(self._client.uid("store", uid, "+FLAGS", "(\\Seen)"), "STORE")
        await self._ok(self._client.uid("move", uid, _quoted(target)), "MOVE")

    async def _ok(self, call: object, what: str) -> aioimaplib.Response:
        try:
            response: aioimaplib.Response = await asyncio.wait_for(call, self._settings.timeout)  # type: ignore[arg-type]
        except (TimeoutError, OSError, aioimaplib.AioImapException) as exc:
            raise MailboxError(f"bounces.imap: {what} failed ({type(exc).__name__})") from None
        if response.result != "OK":
            raise MailboxError(f"bounces.imap: {what} refused: {_said(response)}")
        return response


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(response: aioimaplib.Response) -> str:
    last = response.lines[-1] if response.lines else b""
    return bytes(last).decode("ascii", "replace")[:200]


def _context(settings: ImapSettings) -> ssl.SSLContext:
    if settings.ca_file is not None:
        return ssl.create_default_context(cafile=str(settings.ca_file))
    return ssl.create_default_context()


@contextlib.asynccontextmanager
async def open_mailbox(settings: ImapSettings) -> AsyncIterator[ImapMailbox]:
    """Connect, log in and select ``settings.mailbox``; log out at the end."""
    if settings.security == "tls":
        client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
            settings.host, settings.port, ssl_context=_context(settings), timeout=settings.timeout
        )
    else:
        client = aioimaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    mailbox = ImapMailbox(client, settings)
    try:
        await _login(client, settings)
        await mailbox._ok(client.select(_quoted(settings.mailbox)), "SELECT")
        yield mailbox
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), settings.timeout)


async def _login(client: aioimaplib.IMAP4, settings: ImapSettings) -> None:
    try:
        await client.wait_hello_from_server()
    except (TimeoutError, OSError, ssl.SSLError, aioimaplib.AioImapException) as exc:
        where = f"{settings.host}:{settings.port}"
        raise MailboxError(
            f"bounces.imap: cannot reach {where} ({type(exc).__name__}: {exc})"
        ) from None
    password = settings.password.get_secret_value() if settings.password else ""
    try:
        response = await client.login(settings.username, password)
    except (TimeoutError, OSError, aioimaplib.AioImapException) as exc:
        raise MailboxError(f"bounces.imap: login failed ({type(exc).__name__})") from None
    if response.result != "OK":
        raise ConfigError(
            f"bounces.imap: the server refused the login of {settings.username!r}",
            key="bounces.imap.username",
        )
