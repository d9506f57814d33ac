"""The relay_state table: what dispatchers learnt about each SMTP relay, for every process.

A dispatcher writes its relay's row when its circuit opens, after each failed probe and when
the relay answers again; `campaign status`, /healthz and /metrics (other processes) read it.
Several dispatchers share a row: the outage's start is the earliest any of them saw, and the
outage email is claimed by one of them only (:func:`claim_alert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import connections

from incident_svc.config import SmtpSettings
from incident_svc.db import write_transaction
from incident_svc.domain.relay_circuit import RelayCircuit
from incident_svc.rawsql import as_utc, placeholders, query


def relay_name(smtp: SmtpSettings) -> str:
    return f"{smtp.host}:{smtp.port}"


@dataclass(frozen=True)
class RelayView:
    relay: str
    up: bool
    down_since: datetime | None
    next_probe_at: datetime | None
    last_error: str
    alerted_at: datetime | None

    def describe(self) -> str:
        """One line for people: ``relay unreachable since T, next probe at T (why)``."""
        if self.up:
            return f"relay {self.relay} up"
        since = _clock(self.down_since)
        probe = _clock(self.next_probe_at)
        why = " ".join(self.last_error.split())  # a relay's words: never more than one line
        return f"relay {self.relay} unreachable since {since}, next probe at {probe} ({why})"


def _clock(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "?"


_SAVE = """
INSERT INTO relay_state (relay, up, down_since, next_probe_at, last_error, alerted_at, updated_at)
VALUES (?, ?, ?, ?, ?, NULL, ?)
ON CONFLICT (relay) DO UPDATE SET
    up = excluded.up,
    down_since = CASE WHEN excluded.up THEN NULL
                      WHEN relay_state.up OR relay_state.down_since IS NULL THEN excluded.down_since
                      ELSE relay_state.down_since END,
    next_probe_at = excluded.next_probe_at,
    last_error = excluded.last_error,
    alerted_at = CASE WHEN excluded.up THEN NULL ELSE relay_state.alerted_at END,
    updated_at = excluded.updated_at
"""


async def save(relay: str, circuit: RelayCircuit, now: datetime) -> None:
    """Write what ``circuit`` says about ``relay`` (open: down since, next probe; closed: up)."""
    up = not circuit.is_open
    values = [relay, up, circuit.down_since, circuit.next_probe_at, circuit.last_error, now]
    async with write_transaction() as conn:
        await conn.execute_query(placeholders(_SAVE, conn), values)


async def claim_alert(relay: str, now: datetime) -> bool:
    """True for the one dispatcher that is to send this outage's email (it is marked sent)."""
    async with write_transaction() as conn:
        rows = await query(
            conn,
            "UPDATE relay_state SET alerted_at = ? "
            "WHERE relay = ? AND NOT up AND alerted_at IS NULL RETURNING relay",
            [now, relay],
        )
    return bool(rows)


async def read_all() -> list[RelayView]:
    rows = await query(
        connections.get("default"),
        "SELECT relay, up, down_since, next_probe_at, last_error, alerted_at FROM relay_state "
        "ORDER BY relay",
        [],
    )
    return [
        RelayView(
            relay=str(row["relay"]),
            up=bool(row["up"]),
            down_since=as_utc(row["down_since"]),
            next_probe_at=as_utc(row["next_probe_at"]),
            last_error=str(row["last_error"] or ""),
            alerted_at=as_utc(row["alerted_at"]),
        )
        for row in rows
    ]


async def read(relay: str) -> RelayView | None:
    found = [view for view in await read_all() if view.relay == relay]
    return found[0] if found else None
