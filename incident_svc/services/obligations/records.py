"""Record an obligation as met (reference, evidence, a reason when late) or declined.

A decision not to notify (GDPR Art. 34(3), a no-harm determination ...) is kept with its
reason and who decided, until the rule's retention period ends. Each record is audited in the
same transaction; one record per obligation (a second is a conflict, never an overwrite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain import incident_fields
from incident_svc.domain.compliance import Obligation, Status
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import ObligationRecord
from incident_svc.services.auditlog import audit
from incident_svc.services.incident.incidents import locked
from incident_svc.services.obligations import evidence as evidence_store
from incident_svc.services.obligations.compute import obligations_for


@dataclass(frozen=True)
class Recorded:
    record: ObligationRecord
    obligation: Obligation
    late: bool


async def record_met(
    *,
    ref: str,
    rule_key: str,
    at: datetime,
    reference: str,
    actor: str,
    key: bytes | None,
    settings: Settings,
    evidence: Path | None = None,
    late_reason: str | None = None,
) -> Recorded:
    """Record that the obligation was met at ``at``; late ones need ``late_reason``."""
    reference = incident_fields.one_line(reference, field="reference")
    computed = await obligations_for(ref=ref, settings=settings)
    obligation = _applicable(computed.find(rule_key.strip()), rule_key, computed.incident.ref)
    if at > utcnow():
        raise ValidationError(f"{at.isoformat()} is in the future", field="at")
    late = obligation.due_at is not None and at > obligation.due_at
    why_late = None
    if late:
        if not late_reason or not late_reason.strip():
            assert obligation.due_at is not None
            raise ValidationError(
                f"met after the due time {obligation.due_at.isoformat()}: give --late-reason",
                field="late_reason",
            )
        why_late = incident_fields.free_text(late_reason, field="late_reason")
    kept = None
    if evidence is not None:
        store = settings.var_dir / "evidence"
        kept = evidence_store.keep(
            evidence, store=store, max_bytes=settings.compliance.evidence_max_bytes
        )
    values = {
        "kind": "met",
        "at": at,
        "reference": reference,
        "late_reason": why_late,
        "evidence_name": kept.name if kept else None,
        "evidence_sha256": kept.sha256 if kept else None,
        "evidence_size": kept.size if kept else None,
    }
    record = await _store(computed.incident.ref, obligation, values, actor, key)
    return Recorded(record, obligation, late)


async def record_declined(
    *,
    ref: str,
    rule_key: str,
    reason: str,
    actor: str,
    key: bytes | None,
    settings: Settings,
) -> Recorded:
    """Record a decision not to notify under this obligation, with its reason."""
    why = incident_fields.free_text(reason, field="reason")
    if not why:
        raise ValidationError("must not be empty", field="reason")
    computed = await obligations_for(ref=ref, settings=settings)
    obligation = _applicable(computed.find(rule_key.strip()), rule_key, computed.incident.ref)
    values = {"kind": "declined", "at": utcnow(), "reason": why}
    record = await _store(computed.incident.ref, obligation, values, actor, key)
    return Recorded(record, obligation, False)


def _applicable(obligation: Obligation | None, rule_key: str, ref: str) -> Obligation:
    if obligation is None:
        raise NotFoundError(
            f"{ref} has no obligation {rule_key!r}; `incident-svc incident obligations {ref}` "
            "lists them (fan-out rules are named like gdpr-33-sa:DE)"
        )
    if obligation.status is Status.NOT_APPLICABLE and obligation.decided_by is None:
        raise ConflictError(f"{obligation.key} does not apply to {ref}: {obligation.reason}")
    return obligation


async def _store(
    ref: str, obligation: Obligation, values: dict[str, object], actor: str, key: bytes | None
) -> ObligationRecord:
    now = utcnow()
    async with write_transaction() as conn:
        incident = await locked(conn, ref)
        existing = (
            await ObligationRecord.filter(incident_id=incident.id, key=obligation.key)
            .using_db(conn)
            .first()
        )
        if existing is not None:
            raise ConflictError(
                f"{obligation.key} of {ref} is already recorded as {existing.kind} "
                f"(by {existing.recorded_by} at {existing.recorded_at.isoformat()})"
            )
        record = await ObligationRecord.create(
            using_db=conn,
            incident_id=incident.id,
            key=obligation.key,
            recorded_by=actor,
            recorded_at=now,
            retain_until=_retain_until(obligation, now.date()),
            **values,
        )
        await audit.record(
            conn,
            actor=actor,
            action=f"obligation.{values['kind']}",
            target_type="incident",
            target_id=ref,
            details={
                "incident": ref,
                "obligation": obligation.key,
                "citation": obligation.rule.citation,
                "due_at": obligation.due_at.isoformat() if obligation.due_at else None,
                **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()},
            },
            key=key,
        )
    return record


def _retain_until(obligation: Obligation, today: date) -> date | None:
    years = obligation.rule.retention_years
    if years is None:
        return None
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)
