"""A pool of long-lived aiosmtplib connections shared by concurrent senders.

aiosmtplib sends one message at a time per connection and does not pipeline, so throughput
comes from several connections kept open across messages. Each connection is opened on
first use and reopened after it drops or times out; a rate limit spaces sends over the whole
pool. Every failure of a message leaves this module as a
:class:`~incident_svc.errors.DeliveryError`; a relay that presents a certificate we do not
trust or refuses the login as :class:`~incident_svc.errors.RelaySetupError` (a configuration
problem), a relay that cannot be reached at all (refused, timed out, a 421 or a TLS handshake
that fails while connecting) as :class:`~incident_svc.errors.RelayUnavailableError`
(``mail/smtp_errors.py`` draws the line).
Nothing connects or reads configuration in the constructor beyond storing the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType

import aiosmtplib

from incident_svc.config import SmtpSettings
from incident_svc.domain.emails import needs_smtputf8
from incident_svc.errors import RelaySetupError, RelayUnavailableError
from incident_svc.mail import relay_fence
from incident_svc.mail.rate import RateLimiter
from incident_svc.mail.smtp_errors import (
    connection_is_dead,
    setup_failure,
    translate,
    unreachable,
)
from incident_svc.mail.smtp_transaction import mail_from, rcpt_and_data


@dataclass(frozen=True)
class Accepted:
    """The relay's 2xx answer to the end of DATA: the proof of dispatch."""

    code: int
    reply: str


class _Slot:
    """One place in the pool and the connection it holds, if any."""

    def __init__(self) -> None:
        self.client: aiosmtplib.SMTP | None = None

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None


class SmtpPool:
    """``pool_size`` connections to the relay in ``settings``; use ``async with``."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._slots = [_Slot() for _ in range(settings.pool_size)]
        self._idle: asyncio.LifoQueue[_Slot] = asyncio.LifoQueue()
        for slot in self._slots:
            self._idle.put_nowait(slot)  # connections are opened on first use
        self._limiter = RateLimiter(settings.rate_limit)
        self._refusals = 0  # connection setups the relay refused so far
        self._refused: RelaySetupError | None = None  # the latest such refusal
        self.connects = 0  # connections opened so far (tests and status read it)

    async def __aenter__(self) -> SmtpPool:
        relay_fence.check(self._settings.host, self._settings.port)  # an exercise: sink only
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(
        self, *, sender: str, recipient: str, data: bytes, wire: bytes | None = None
    ) -> Accepted:
        """Hand one message to the relay; raise Transient/PermanentDeliveryError on failure,
        RelayUnavailableError when the relay cannot be reached, RelaySetupError when it
        presents a certificate we do not trust or refuses the login.

        ``wire``: ``data`` as DATA sends it, if the caller prepared it with
        :func:`~incident_svc.mail.smtp_transaction.wire_form`.
        """
        refusals = self._refusals
        await self._limiter.wait()
        slot = await self._idle.get()
        try:
            return await self._send_on(slot, sender, recipient, data, wire, refusals)
        except (aiosmtplib.SMTPException, OSError, UnicodeEncodeError) as exc:
            await self._after_failure(slot, exc)
            if isinstance(exc, aiosmtplib.SMTPHeloError):  # EHLO, sent before the first MAIL
                down = unreachable(exc, self._settings)  # 421: the relay closes, no message's
                if down is not None:
                    raise down from exc
            raise translate(exc) from exc
        except BaseException:
            slot.drop()  # cancelled mid-conversation: the connection's state is unknown
            raise
        finally:
            self._idle.put_nowait(slot)

    async def _send_on(
        self,
        slot: _Slot,
        sender: str,
        recipient: str,
        data: bytes,
        wire: bytes | None,
        refusals: int,
    ) -> Accepted:
        reused = slot.client is not None and slot.client.is_connected
        if not reused:
            await self._connect(slot, refusals)
        assert slot.client is not None
        utf8 = not (sender.isascii() and recipient.isascii()) and (
            needs_smtputf8(sender) or needs_smtputf8(recipient)
        )
        try:
            await mail_from(slot.client, sender, smtputf8=utf8)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # the relay closed an idle connection: nothing was sent yet, so open a new one
            await self._connect(slot, refusals)
            assert slot.client is not None
            await mail_from(slot.client, sender, smtputf8=utf8)
        response = await rcpt_and_data(
            slot.client, recipient=recipient, data=data, wire=wire, smtputf8=utf8
        )
        return Accepted(code=response.code, reply=f"{response.code} {response.message}")

    async def _connect(self, slot: _Slot, refusals: int) -> None:
        """Open the slot's connection (TLS, EHLO, AUTH as configured).

        When the relay refused a connection's setup while this message waited, it fails the
        same way without another try: a batch must not hammer the relay with wrong logins.
        """
        slot.drop()
        if self._refusals != refusals and self._refused is not None:
            raise RelaySetupError(str(self._refused), key=self._refused.key)
        s = self._settings
        relay_fence.check(s.host, s.port)
        relay_fence.check_outage()
        slot.client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.tls,
            start_tls=s.starttls,
            local_hostname=s.local_hostname,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            cert_bundle=str(s.ca_file) if s.ca_file else None,
        )
        self.connects += 1
        try:
            await slot.client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            down = unreachable(exc, s)
            if down is not None:
                raise down from exc
            refused = setup_failure(exc, s)
            if refused is None:
                raise
            self._refusals += 1
            self._refused = refused
            raise refused from exc

    async def offers(self, extension: str) -> bool:
        """Whether the relay offers an ESMTP extension (``smtputf8``), asked as a send would:
        on a pooled connection, after TLS and login."""
        slot = await self._idle.get()
        try:
            if slot.client is None or not slot.client.is_connected:
                await self._connect(slot, self._refusals)
            assert slot.client is not None
            if slot.client.is_ehlo_or_helo_needed:
                await slot.client.ehlo()
            return slot.client.supports_extension(extension)
        except (aiosmtplib.SMTPException, OSError):
            slot.drop()
            raise
        finally:
            self._idle.put_nowait(slot)

    async def probe(self) -> None:
        """Open one idle connection afresh (kept for the next message): the relay answers.

        Raises RelayUnavailableError while it cannot be reached (or answers EHLO 421),
        RelaySetupError when it presents a certificate we do not trust or refuses the login.
        """
        slot = await self._idle.get()
        try:
            await self._connect(slot, self._refusals)
            assert slot.client is not None
            await _greet(slot.client)
        except (aiosmtplib.SMTPException, OSError) as exc:
            slot.drop()  # any other way a connection cannot be opened: still unavailable
            why = translate(exc).reply or str(exc)
            relay = f"{self._settings.host}:{self._settings.port}"
            raise RelayUnavailableError(
                f"the relay {relay} cannot be used ({why})", reply=why
            ) from exc
        except BaseException:
            slot.drop()
            raise
        finally:
            self._idle.put_nowait(slot)

    async def _after_failure(self, slot: _Slot, exc: BaseException) -> None:
        """Keep a connection that only refused this message (after RSET); drop a dead one."""
        client = slot.client
        if client is None or connection_is_dead(exc) or not client.is_connected:
            slot.drop()
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            slot.drop()

    async def close(self) -> None:
        """QUIT every open connection (politely, bounded by the timeout)."""
        await asyncio.gather(*(_quit(slot) for slot in self._slots))


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, as the first MAIL would send it: a relay that answers it 421 is not back yet
    (any other refusal is left to MAIL, which falls back to HELO)."""
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError as exc:
            if exc.code == 421:
                raise


async def _quit(slot: _Slot) -> None:
    client = slot.client
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        if client is not None and client.is_connected:
            await client.quit()
    slot.drop()


async def relay_offers(settings: SmtpSettings, extension: str) -> bool:
    """Whether the configured relay offers ``extension`` (one connection, as a send makes it)."""
    async with SmtpPool(settings.model_copy(update={"pool_size": 1})) as pool:
        return await pool.offers(extension)
