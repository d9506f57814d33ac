"""The fence around an exercise: while one is active, SMTP may reach only its mail sink.

An exercise (services/exercises/) installs a fence for the code it runs, as a context
variable (like the exercise clock in domain/times.py): every SMTP connection the pool opens
is checked here first, so no setting, environment variable or code path that names a real
relay can make an exercise send to it. Outside an exercise there is no fence.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from incident_svc.domain.times import utcnow
from incident_svc.errors import RelaySetupError, RelayUnavailableError


class ExerciseRelayRefused(RelaySetupError):
    """An exercise tried to reach a relay other than its development mail sink."""


@dataclass(frozen=True)
class Fence:
    exercise: str
    host: str  # the exercise's mail sink
    port: int
    # scripted relay outages, [start, end) on the exercise clock: the sink "cannot be reached"
    outages: tuple[tuple[datetime, datetime], ...] = ()


_FENCE: ContextVar[Fence | None] = ContextVar("incident_svc_relay_fence", default=None)


def is_loopback(host: str) -> bool:
    """A loopback address (127.0.0.0/8, ::1) or ``localhost``: the sink never listens elsewhere."""
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextmanager
def fenced(fence: Fence) -> Iterator[None]:
    """Inside the block (and tasks started in it) SMTP reaches only ``fence``'s sink."""
    token = _FENCE.set(fence)
    try:
        yield
    finally:
        _FENCE.reset(token)


def active() -> Fence | None:
    return _FENCE.get()


def check(host: str, port: int) -> None:
    """Refuse, in one line, a relay an active exercise must not reach."""
    fence = _FENCE.get()
    if fence is None:
        return
    if is_loopback(host) and is_loopback(fence.host) and port == fence.port:
        return
    raise ExerciseRelayRefused(
        f"exercise {fence.exercise}: refused to send to the relay {host}:{port}; an exercise "
        f"sends only to its development mail sink {fence.host}:{fence.port}",
        key="smtp.host",
    )


def check_outage() -> None:
    """While a scripted outage covers the exercise clock, the sink cannot be reached: the
    delivery code meets it as it would meet a real outage (circuit, probes, alert)."""
    fence = _FENCE.get()
    if fence is None:
        return
    now = utcnow()
    for start, end in fence.outages:
        if start <= now < end:
            why = f"scripted relay outage until {end.isoformat(timespec='minutes')}"
            raise RelayUnavailableError(
                f"the relay {fence.host}:{fence.port} cannot be reached ({why})", reply=why
            )
