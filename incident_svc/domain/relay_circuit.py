"""The circuit of one SMTP relay: closed while it answers, open while it cannot be reached. Pure.

A relay that refuses connections, times out connecting, cuts the TLS handshake or answers
421 at greeting is down for every message alike: the circuit opens, claiming pauses and no
attempt is spent. It is probed after ``first_probe`` seconds, then at intervals that double
up to ``max_probe``; the first probe that gets through closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class RelayCircuit:
    first_probe: float
    max_probe: float
    down_since: datetime | None = None
    next_probe_at: datetime | None = None
    last_error: str = ""
    interval: float = 0.0
    failed_probes: int = 0

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    def trip(self, now: datetime, error: str) -> bool:
        """A connection failed; True when this opened the circuit (it was closed)."""
        self.last_error = error
        if self.down_since is not None:
            return False
        self.down_since = now
        self.interval = self.first_probe
        self.failed_probes = 0
        self.next_probe_at = now + timedelta(seconds=self.interval)
        return True

    def probe_due(self, now: datetime) -> bool:
        return self.next_probe_at is not None and now >= self.next_probe_at

    def probe_failed(self, now: datetime, error: str) -> None:
        """A probe did not get through: the next one comes after a doubled interval."""
        self.last_error = error
        self.failed_probes += 1
        self.interval = min(self.max_probe, max(self.first_probe, self.interval * 2))
        self.next_probe_at = now + timedelta(seconds=self.interval)

    def close(self, now: datetime) -> float:
        """The relay answered: seconds it was down (0 if the circuit was closed)."""
        since, self.down_since, self.next_probe_at = self.down_since, None, None
        self.failed_probes, self.interval = 0, 0.0
        return 0.0 if since is None else max(0.0, (now - since).total_seconds())

    def seconds_to_probe(self, now: datetime) -> float:
        if self.next_probe_at is None:
            return 0.0
        return max(0.0, (self.next_probe_at - now).total_seconds())

    def outage_seconds(self, now: datetime) -> float:
        return 0.0 if self.down_since is None else (now - self.down_since).total_seconds()
