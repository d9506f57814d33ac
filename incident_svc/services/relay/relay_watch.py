"""One dispatcher's watch over its relay: the circuit, its row in relay_state, the outage email.

When a connection to the relay cannot be made (:class:`RelayUnavailableError`), the circuit
opens: the dispatcher stops claiming, the messages it held go back untried (no attempt is
spent) and :meth:`RelayWatch.ready` probes the relay when a probe is due. The first probe
that gets through closes the circuit and sending resumes at once. An outage that outlasts
``delivery.outage_alert_seconds`` is logged as an error when it crosses that line, and the
security team gets one email about it: the email travels through the same relay, so it goes
out as soon as the relay answers again, before the notices that waited.

A process can also find the relay's row saying "down" although its own circuit never opened:
the process that opened it was interrupted before its probe got through. The first message
this process gets an answer for (:meth:`RelayWatch.reached`) then records the relay as up,
closing the outage row as a recovery does, so `campaign status` stops reporting a past outage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from incident_svc.config import Settings
from incident_svc.db_faults import fault_reason
from incident_svc.domain.relay_circuit import RelayCircuit
from incident_svc.domain.times import utcnow
from incident_svc.errors import IncidentSvcError, RelayUnavailableError
from incident_svc.mail.internal_message import send_internal
from incident_svc.mail.smtp_pool import SmtpPool
from incident_svc.services.relay import relay_state
from incident_svc.services.relay.relay_alert import outage_email

log = logging.getLogger(__name__)

Notify = Callable[[str], None]


class RelayWatch:
    def __init__(self, settings: Settings, pool: SmtpPool, notify: Notify | None = None) -> None:
        d = settings.delivery
        self.settings = settings
        self.pool = pool
        self.notify = notify
        self.relay = relay_state.relay_name(settings.smtp)
        self.circuit = RelayCircuit(d.relay_probe_seconds, d.relay_probe_max_seconds)
        self._lock = asyncio.Lock()
        self._alarmed = False  # the outage crossed outage_alert_seconds (logged once)
        self._row_checked = False  # the stored row was compared with a relay that answered

    @property
    def is_open(self) -> bool:
        return self.circuit.is_open

    def seconds_to_probe(self) -> float:
        return self.circuit.seconds_to_probe(utcnow())

    async def tripped(self, error: RelayUnavailableError) -> None:
        """A message could not be offered because the relay cannot be reached."""
        now = utcnow()
        if not self.circuit.trip(now, error.reply or str(error)):
            return
        self._alarmed = False
        probe = _clock(self.circuit.next_probe_at)
        self._tell(
            logging.WARNING,
            f"{error}: sending paused, no attempt spent; next probe at {probe}",
        )
        await self._save(now)

    async def ready(self) -> bool:
        """True when messages may go out: the circuit is closed, or a due probe got through."""
        if not self.circuit.is_open:
            return True
        async with self._lock:  # both lanes ask at once: one probe, not two
            now = utcnow()
            if not self.circuit.is_open:
                return True
            if not self.circuit.probe_due(now):
                return False
            try:
                await self.pool.probe()
            except RelayUnavailableError as exc:
                await self._still_down(exc)
                return False
            await self._recovered(utcnow())
            return True

    async def reached(self) -> None:
        """The relay answered a message (accepted or not): if this process has not looked yet,
        a stored row left "down" by another process (one interrupted during an outage) is
        closed, as a recovery closes it."""
        if self._row_checked or self.circuit.is_open:
            return
        self._row_checked = True
        try:
            stored = await relay_state.read(self.relay)
        except Exception as exc:
            if fault_reason(exc) is None:
                raise
            self._row_checked = False  # look again after the next answer
            return
        if stored is None or stored.up or self.circuit.is_open:
            return
        since = stored.down_since.isoformat(timespec="seconds") if stored.down_since else "?"
        self._tell(
            logging.WARNING,
            f"the relay {self.relay} answers (it was recorded unreachable since {since} by a "
            "process that stopped): recorded as up",
        )
        await self._save(utcnow())

    async def _still_down(self, exc: RelayUnavailableError) -> None:
        now = utcnow()
        self.circuit.probe_failed(now, exc.reply or str(exc))
        outage = self.circuit.outage_seconds(now)
        limit = self.settings.delivery.outage_alert_seconds
        if outage >= limit and not self._alarmed:
            self._alarmed = True
            self._tell(
                logging.ERROR,
                f"the relay {self.relay} has been unreachable for {outage:.0f} s "
                f"({exc.reply}); the security team is emailed as soon as it answers",
            )
        log.info(
            "relay %s still unreachable; next probe at %s",
            self.relay,
            _clock(self.circuit.next_probe_at),
        )
        await self._save(now)

    async def _recovered(self, now: datetime) -> None:
        since, error = self.circuit.down_since, self.circuit.last_error
        outage = self.circuit.close(now)
        self._tell(
            logging.WARNING,
            f"the relay {self.relay} answers again after {outage:.0f} s: sending resumes",
        )
        if since is not None and outage >= self.settings.delivery.outage_alert_seconds:
            await self._alert(since, now, error)
        self._row_checked = True  # the row is written up right here
        await self._save(now)

    async def _alert(self, since: datetime, until: datetime, error: str) -> None:
        try:
            if not await relay_state.claim_alert(self.relay, until):
                return  # another dispatcher sent it
        except Exception as exc:
            if fault_reason(exc) is None:
                raise
            log.warning("outage email not claimed (database: %s); sending it anyway", exc)
        message = outage_email(
            settings=self.settings, relay=self.relay, since=since, until=until, error=error
        )
        try:
            await send_internal(self.pool, message)
        except IncidentSvcError as exc:  # a refusal, or our TLS or login refused
            log.error("the outage email to %s could not be sent: %s", message.recipient, exc)
            return
        log.info("outage email sent to %s", message.recipient)

    async def _save(self, now: datetime) -> None:
        """Best effort: the row informs other processes; a database fault must not stop us."""
        try:
            await relay_state.save(self.relay, self.circuit, now)
        except Exception as exc:
            if fault_reason(exc) is None:
                raise
            log.warning("relay state not saved (database: %s)", fault_reason(exc))

    def _tell(self, level: int, line: str) -> None:
        if self.notify is not None:
            self.notify(line)  # the foreground command prints it (and has no log handler)
        else:
            log.log(level, "%s", line)


def _clock(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "?"
