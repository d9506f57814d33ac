"""Record the facts the rules test: clock-start instants, flags, a law-enforcement delay.

Each change is one row per fact (incident_fact) and one audit event with who, why, and the
old and new values. A clock start cannot lie in the future: it records something that happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from incident_svc.db import write_transaction
from incident_svc.domain import incident_fields
from incident_svc.domain.compliance.vocabulary import ClockKind, Flag
from incident_svc.domain.times import utcnow
from incident_svc.errors import ValidationError
from incident_svc.models import IncidentFact
from incident_svc.services.auditlog import audit
from incident_svc.services.incident.incidents import locked

DELAY = "law_enforcement_delay_until"
CLOCK_NAMES = frozenset(kind.value for kind in ClockKind if kind is not ClockKind.OBLIGATION_MET)
FLAG_NAMES = frozenset(flag.value for flag in Flag)
NAMES = CLOCK_NAMES | FLAG_NAMES | {DELAY}
_SKEW = timedelta(minutes=5)


async def set_facts(
    *,
    ref: str,
    actor: str,
    key: bytes | None,
    reason: str,
    clocks: Mapping[ClockKind, datetime] | None = None,
    flags: Mapping[Flag, bool] | None = None,
    law_enforcement_delay_until: datetime | None = None,
    unset: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    """Set (or unset) facts of one incident; returns ``{name: {old, new}}`` of what changed."""
    why = incident_fields.one_line(reason, field="reason", max_length=1000)
    wanted = _wanted(clocks or {}, flags or {}, law_enforcement_delay_until, unset)
    if not wanted:
        raise ValidationError("nothing to record: give a clock, a flag or --unset", field="facts")
    now = utcnow()
    async with write_transaction() as conn:
        incident = await locked(conn, ref)
        rows = {
            row.name: row
            for row in await IncidentFact.filter(incident_id=incident.id).using_db(conn)
        }
        diff: dict[str, dict[str, Any]] = {}
        for name, new in wanted.items():
            old_row = rows.get(name)
            old = None if old_row is None else _value(old_row)
            if old == new:
                continue
            diff[name] = {"old": _plain(old), "new": _plain(new)}
            if new is None and old_row is not None:
                await old_row.delete(using_db=conn)
                continue
            values = {
                "at": new if isinstance(new, datetime) else None,
                "value": new if isinstance(new, bool) else None,
                "set_by": actor,
                "set_at": now,
                "reason": why,
            }
            await IncidentFact.update_or_create(
                defaults=values, using_db=conn, incident_id=incident.id, name=name
            )
        if diff:
            await audit.record(
                conn,
                actor=actor,
                action="incident.facts",
                target_type="incident",
                target_id=incident.ref,
                details={"incident": incident.ref, "changes": diff, "reason": why},
                key=key,
            )
    return diff


def _wanted(
    clocks: Mapping[ClockKind, datetime],
    flags: Mapping[Flag, bool],
    delay: datetime | None,
    unset: Sequence[str],
) -> dict[str, datetime | bool | None]:
    wanted: dict[str, datetime | bool | None] = {}
    latest = utcnow() + _SKEW
    for kind, at in clocks.items():
        if kind is ClockKind.OBLIGATION_MET:
            raise ValidationError(
                "is derived from another obligation, not recorded", field=kind.value
            )
        if at > latest:
            raise ValidationError(
                f"{at.isoformat()} is in the future; a clock start records what happened",
                field=kind.value,
            )
        wanted[kind.value] = at
    for flag, value in flags.items():
        wanted[flag.value] = bool(value)
    if delay is not None:
        wanted[DELAY] = delay
    for name in unset:
        if name not in NAMES:
            raise ValidationError(
                f"{name!r} is not a fact; use one of {', '.join(sorted(NAMES))}", field="unset"
            )
        if name in wanted:
            raise ValidationError("is both set and unset", field=name)
        wanted[name] = None
    return wanted


def _value(row: IncidentFact) -> datetime | bool | None:
    return row.at if row.at is not None else row.value


def _plain(value: datetime | bool | None) -> str | bool | None:
    return value.isoformat() if isinstance(value, datetime) else value


async def facts_of(incident_id: int) -> list[IncidentFact]:
    """The incident's recorded facts, by name."""
    return list(await IncidentFact.filter(incident_id=incident_id).order_by("name"))
