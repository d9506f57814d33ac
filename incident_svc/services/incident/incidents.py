"""Incidents: record, read, change and move through the lifecycle, each change audited."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.domain import incident_fields as rules
from incident_svc.domain.enums import IncidentStatus, MatterKind, Severity
from incident_svc.domain.lifecycle import check_transition, next_ref
from incident_svc.domain.times import utcnow
from incident_svc.errors import NotFoundError, ValidationError
from incident_svc.models import Account, Incident
from incident_svc.services.auditlog import audit
from incident_svc.services.incident import matters

_PG_NUMBERING_LOCK = 0x1AC1DE48
SCOPE_FIELDS = ("systems", "categories", "jurisdictions", "account_refs")
EDITABLE = (
    "title",
    "summary",
    "severity",
    "discovered_at",
    "occurred_from",
    "occurred_to",
    *SCOPE_FIELDS,
)


async def get(*, ref: str) -> Incident:
    """The incident with this reference, or NotFoundError."""
    incident = await Incident.get_or_none(ref=ref.strip().upper())
    if incident is None:
        raise NotFoundError(f"no incident {ref!r}; `incident-svc incident list` shows them")
    return incident


async def list_incidents(*, status: IncidentStatus | None = None) -> list[Incident]:
    """Incidents, newest first, optionally only those in one status."""
    query = Incident.all().order_by("-created_at", "-id")
    if status is not None:
        query = query.filter(status=status)
    return list(await query)


async def create(
    *,
    actor: str,
    key: bytes | None,
    title: str,
    summary: str,
    severity: Severity,
    discovered_at: datetime,
    systems: Sequence[str],
    categories: Sequence[str],
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    jurisdictions: Sequence[str] = (),
    account_refs: Sequence[str] = (),
    texts: Mapping[str, Mapping[str, str]] | None = None,
) -> Incident:
    """Record a new incident and give it the next reference (INC-YYYY-NNNN)."""
    values = _checked(
        {
            "title": title,
            "summary": summary,
            "severity": severity,
            "discovered_at": discovered_at,
            "occurred_from": occurred_from,
            "occurred_to": occurred_to,
            "systems": systems,
            "categories": categories,
            "jurisdictions": jurisdictions,
            "account_refs": account_refs,
        }
    )
    rules.window(values["discovered_at"], values["occurred_from"], values["occurred_to"])
    kept_texts = rules.merge_texts({}, rules.texts(texts or {}))
    async with write_transaction() as conn:
        await _require_accounts(conn, values["account_refs"])
        ref = await _next_ref(conn)
        incident = await Incident.create(
            using_db=conn, ref=ref, created_by=actor, texts=kept_texts, **values
        )
        await matters.create(
            conn, kind=MatterKind.INCIDENT, reference=ref, title=incident.title, incident=incident
        )
        await audit.record(
            conn,
            actor=actor,
            action="incident.create",
            target_type="incident",
            target_id=ref,
            details={"incident": ref, **_plain(values), "texts": kept_texts},
            key=key,
        )
    return incident


async def update(
    *,
    ref: str,
    actor: str,
    key: bytes | None,
    changes: Mapping[str, Any],
    texts: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Incident, dict[str, dict[str, Any]]]:
    """Change fields and texts; returns the incident and ``{field: {old, new}}`` of what changed."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(f"cannot change {', '.join(unknown)}", field=unknown[0])
    values = _checked(changes)
    text_changes = rules.texts(texts or {})
    async with write_transaction() as conn:
        incident = await locked(conn, ref)
        if "account_refs" in values:
            await _require_accounts(conn, values["account_refs"])
        diff = _apply(incident, values, text_changes)
        rules.window(incident.discovered_at, incident.occurred_from, incident.occurred_to)
        if diff:
            await incident.save(using_db=conn)
            await audit.record(
                conn,
                actor=actor,
                action="incident.update",
                target_type="incident",
                target_id=incident.ref,
                details={"incident": incident.ref, "changes": _plain(diff)},
                key=key,
            )
    return incident, _plain(diff)


async def set_status(
    *, ref: str, status: IncidentStatus, actor: str, key: bytes | None, reason: str | None = None
) -> Incident:
    """Move the incident to ``status`` if the lifecycle allows it (ConflictError if not)."""
    async with write_transaction() as conn:
        incident = await locked(conn, ref)
        old = incident.status
        check_transition(old, status)
        incident.status = status
        await incident.save(using_db=conn, update_fields=["status", "updated_at"])
        details = {"incident": incident.ref, "old": old.value, "new": status.value}
        if reason:
            details["reason"] = rules.one_line(reason, field="reason", max_length=1000)
        await audit.record(
            conn,
            actor=actor,
            action="incident.status",
            target_type="incident",
            target_id=incident.ref,
            details=details,
            key=key,
        )
    return incident


async def regulator_notified(
    *, ref: str, at: datetime, reference: str, actor: str, key: bytes | None
) -> Incident:
    """Record when the regulator was told and the reference it gave."""
    reference = rules.one_line(reference, field="reference")
    async with write_transaction() as conn:
        incident = await locked(conn, ref)
        old = {
            "at": _plain(incident.regulator_notified_at),
            "reference": incident.regulator_reference,
        }
        incident.regulator_notified_at = at
        incident.regulator_reference = reference
        await incident.save(
            using_db=conn,
            update_fields=["regulator_notified_at", "regulator_reference", "updated_at"],
        )
        await audit.record(
            conn,
            actor=actor,
            action="incident.regulator_notified",
            target_type="incident",
            target_id=incident.ref,
            details={
                "incident": incident.ref,
                "old": old,
                "at": at.isoformat(),
                "reference": reference,
            },
            key=key,
        )
    return incident


def _checked(given: Mapping[str, Any]) -> dict[str, Any]:
    checks: dict[str, Callable[[Any], Any]] = {
        "title": lambda v: rules.one_line(v, field="title"),
        "summary": lambda v: rules.free_text(v, field="summary") or _empty("summary"),
        "severity": Severity,
        "discovered_at": lambda v: v,
        "occurred_from": lambda v: v,
        "occurred_to": lambda v: v,
        "systems": lambda v: rules.names(v, field="systems", required=True),
        "categories": rules.categories,
        "jurisdictions": rules.jurisdictions,
        "account_refs": lambda v: rules.names(v, field="accounts"),
    }
    return {name: checks[name](value) for name, value in given.items()}


def _empty(field: str) -> str:
    raise ValidationError("must not be empty", field=field)


def _apply(
    incident: Incident, values: Mapping[str, Any], text_changes: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, Any]]:
    diff: dict[str, dict[str, Any]] = {}
    for name, new in values.items():
        old = getattr(incident, name)
        if old != new:
            diff[name] = {"old": old, "new": new}
            setattr(incident, name, new)
    merged = rules.merge_texts(incident.texts or {}, text_changes)
    if merged != (incident.texts or {}):
        diff["texts"] = {"old": incident.texts, "new": merged}
        incident.texts = merged
    return diff


async def locked(conn: BaseDBAsyncClient, ref: str) -> Incident:
    """The incident, locked for the rest of the transaction ``conn`` (NotFoundError if none)."""
    incident = (
        await Incident.filter(ref=ref.strip().upper()).using_db(conn).select_for_update().first()
    )
    if incident is None:
        raise NotFoundError(f"no incident {ref!r}; `incident-svc incident list` shows them")
    return incident


async def _require_accounts(conn: BaseDBAsyncClient, refs: Sequence[str]) -> None:
    if not refs:
        return
    rows = (
        await Account.filter(account_ref__in=list(refs))
        .using_db(conn)
        .values_list("account_ref", flat=True)
    )
    found = {str(row) for row in rows}
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise ValidationError(f"no account with reference {', '.join(missing)}", field="accounts")


async def _next_ref(conn: BaseDBAsyncClient) -> str:
    if dialect(conn) == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_NUMBERING_LOCK])
    year = utcnow().year
    used = (
        await Incident.filter(ref__startswith=f"INC-{year:04d}-")
        .using_db(conn)
        .values_list("ref", flat=True)
    )
    return next_ref(year, [str(ref) for ref in used])


def _plain(value: Any) -> Any:
    """Audit details are JSON: times as ISO 8601, enums as their values."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Severity | IncidentStatus):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
