"""Lawful disclosures: record one (with a held notice per person), approve its release
(counsel, four-eyes), confirm or end an indefinite hold, and show it. Every change is audited
in its own transaction. Releasing and review reminders: services.disclosure.disclosure_jobs.

The audit log carries references and hashes, not the authority's words or the people.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain import disclosure as rules
from incident_svc.domain import identity as identity_rules
from incident_svc.domain.enums import MatterKind
from incident_svc.domain.identity import Identity
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.identity.session import session_identity
from incident_svc.models import Disclosure, DisclosureNotice, Subject
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery import approvers
from incident_svc.services.delivery.matter_campaigns.disclosure_digest import content_digest
from incident_svc.services.files.input_files import read_text, shown
from incident_svc.services.incident import matters

MAX_SUBJECTS_FILE = 16 * 1024 * 1024
RECORD_KIND = "disclosure_notice"  # what a recorder's signed creation statement names


@dataclass(frozen=True)
class RecordRequest:
    authority: str
    legal_basis: str
    received_at: datetime
    subjects_file: Path
    categories: Sequence[str]
    withheld: Sequence[str] = ()
    non_disclosure_until: datetime | None = None
    non_disclosure_indefinite: bool = False


def read_subject_refs(path: Path) -> list[str]:
    """One reference a line; blank lines and ``#`` comments skipped; duplicates once."""
    text = read_text(path, cap=MAX_SUBJECTS_FILE, field="subjects")
    refs: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        ref = line.strip()
        if not ref or ref.startswith("#"):
            continue
        if len(ref) > 128 or any(c.isspace() for c in ref):
            raise ValidationError("not a subject reference", file=shown(path), line=number)
        refs.setdefault(ref, number)
    return list(refs)


async def _subject_ids(path: Path, refs: list[str]) -> list[int]:
    found: dict[str, int] = {}
    for start in range(0, len(refs), 5000):
        chunk = refs[start : start + 5000]
        rows = await Subject.filter(external_ref__in=chunk).values_list("external_ref", "id")
        found.update({str(r): int(i) for r, i in rows})
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise ValidationError(
            f"no subject {missing[0]!r} ({len(missing)} unknown)",
            file=shown(path),
            field="subjects",
        )
    return [found[ref] for ref in refs]


def release_text(disclosure: Disclosure) -> str:
    """What counsel signs to approve the release (signed mode)."""
    return f"incident-svc disclosure release\nref: {disclosure.ref}\ndigest: {content_digest(disclosure)}\n"


async def record(
    *,
    request: RecordRequest,
    actor: str,
    key: bytes | None,
    settings: Settings,
    signed: tuple[str, approvers.Signature] | None = None,
) -> Disclosure:
    """Record a disclosure and a held notice for each person in the subjects file."""
    authority = rules.check_text(request.authority, field="authority", limit=rules.MAX_AUTHORITY)
    basis = rules.check_text(
        request.legal_basis, field="legal_basis", limit=rules.MAX_LEGAL_BASIS, newlines=True
    )
    categories = rules.check_categories(request.categories)
    withheld = rules.check_choices(request.withheld, rules.PARTS, field="withheld")
    hold = rules.Hold(request.non_disclosure_until, request.non_disclosure_indefinite)
    hold.check(request.received_at)
    refs = read_subject_refs(request.subjects_file)
    if not refs:
        raise ValidationError("names nobody", file=shown(request.subjects_file), field="subjects")
    ids = await _subject_ids(request.subjects_file, refs)
    made_by = await approvers.creator(
        incident_ref="disclosure", kind=RECORD_KIND, signed=signed, settings=settings
    )
    now = utcnow()
    async with write_transaction() as conn:
        ref = await _next_ref(conn, now)
        matter = await matters.create(
            conn, kind=MatterKind.DISCLOSURE, reference=ref, title=f"Disclosure {ref}"
        )
        disclosure = await Disclosure.create(
            using_db=conn, matter=matter, ref=ref, authority=authority, legal_basis=basis,
            received_at=request.received_at, categories=categories, withheld=withheld,
            subject_count=len(ids), non_disclosure_until=hold.until,
            non_disclosure_indefinite=hold.indefinite,
            next_review_at=rules.next_review(now, settings.disclosure.review_days)
            if hold.indefinite else None,
            recorded_by=actor, recorder_identity=made_by.identity.session,
            recorder_principal=made_by.identity.principal,
        )  # fmt: skip
        await DisclosureNotice.bulk_create(
            [DisclosureNotice(disclosure_id=disclosure.id, subject_id=i) for i in ids],
            batch_size=1000,
            using_db=conn,
        )
        await _audit(
            conn,
            disclosure,
            actor,
            key,
            "disclosure.recorded",
            _record_details(disclosure, made_by),
        )
    return disclosure


def _record_details(disclosure: Disclosure, made_by: approvers.Proven) -> dict[str, Any]:
    return {
        "authority_sha256": hashlib.sha256(disclosure.authority.encode()).hexdigest(),
        "legal_basis_sha256": hashlib.sha256(disclosure.legal_basis.encode()).hexdigest(),
        "received_at": disclosure.received_at.isoformat(),
        "categories": disclosure.categories,
        "withheld": disclosure.withheld,
        "people": disclosure.subject_count,
        "non_disclosure_until": _iso(disclosure.non_disclosure_until),
        "non_disclosure_indefinite": disclosure.non_disclosure_indefinite,
        "content_digest": content_digest(disclosure),
        **approvers.audit_fields(approvers.CREATOR, made_by),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _next_ref(conn: BaseDBAsyncClient, now: datetime) -> str:
    prefix = f"DIS-{now.year}-"
    refs = (
        await Disclosure.filter(ref__startswith=prefix).using_db(conn).values_list("ref", flat=True)
    )
    highest = max((int(str(r).rsplit("-", 1)[1]) for r in refs), default=0)
    return f"{prefix}{highest + 1:04d}"


async def _audit(
    conn: BaseDBAsyncClient,
    disclosure: Disclosure,
    actor: str,
    key: bytes | None,
    action: str,
    details: dict[str, Any],
) -> None:
    await audit.record(
        conn, actor=actor, action=action, target_type="disclosure", target_id=disclosure.ref,
        details={"disclosure": disclosure.ref, **details}, key=key,
    )  # fmt: skip


async def get(ref: str) -> Disclosure:
    found = await Disclosure.get_or_none(ref=ref)
    if found is None:
        raise NotFoundError(f"no disclosure {ref!r}")
    return found


async def _locked(conn: BaseDBAsyncClient, ref: str) -> Disclosure:
    found = await Disclosure.filter(ref=ref).using_db(conn).select_for_update().first()
    if found is None:
        raise NotFoundError(f"no disclosure {ref!r}")
    return found


async def approve_release(
    *,
    ref: str,
    actor: str,
    key: bytes | None,
    settings: Settings,
    signature: approvers.Signature | None = None,
) -> Disclosure:
    """Counsel approves telling the people (what ``content_digest`` binds); four-eyes: not
    the identity that recorded it. The service releases once no non-disclosure period runs."""
    current = await get(ref)
    text = release_text(current)
    if settings.approval.mode == "signed" and signature is None:
        raise ValidationError(
            'approval.mode is "signed": give --signature FILE or --sign-with KEY', field="signature"
        )
    if signature is not None:
        proven = await approvers.signed_by(text, signature, settings)
    else:
        proven = approvers.Proven(Identity(await session_identity(connections.get("default"))))
    async with write_transaction() as conn:
        disclosure = await _locked(conn, ref)
        if disclosure.status != rules.HELD or disclosure.release_approved_at is not None:
            raise ConflictError(
                f"disclosure {ref} is {disclosure.status}, its release approved already"
            )
        if release_text(disclosure) != text:
            raise ConflictError(f"disclosure {ref} changed while it was being approved")
        recorder = Identity(disclosure.recorder_identity, disclosure.recorder_principal)
        problem = identity_rules.four_eyes_problem(
            settings.approval.mode, recorder, proven.identity
        )
        if problem is not None:
            raise ConflictError(
                f"disclosure {ref} cannot be approved for release: {problem.replace('it was created', 'it was recorded')}"
            )
        disclosure.release_approved_by = actor
        disclosure.release_approver_identity = proven.identity.session
        disclosure.release_approver_principal = proven.identity.principal
        disclosure.release_approved_at = utcnow()
        await disclosure.save(using_db=conn)
        await _audit(conn, disclosure, actor, key, "disclosure.release_approved", {
            "content_digest": content_digest(disclosure),
            **approvers.audit_fields(approvers.APPROVER, proven),
        })  # fmt: skip
    return disclosure


async def confirm_hold(
    *, ref: str, reason: str, actor: str, key: bytes | None, settings: Settings
) -> Disclosure:
    """The indefinite non-disclosure still applies: audited, next review set."""
    why = rules.check_text(reason, field="reason", limit=2000, newlines=True)
    async with write_transaction() as conn:
        disclosure = await _locked(conn, ref)
        if not disclosure.non_disclosure_indefinite or disclosure.status != rules.HELD:
            raise ConflictError(f"disclosure {ref} has no indefinite non-disclosure to confirm")
        now = utcnow()
        disclosure.next_review_at = rules.next_review(now, settings.disclosure.review_days)
        await disclosure.save(using_db=conn)
        await _audit(conn, disclosure, actor, key, "disclosure.hold_confirmed", {
            "reason": why, "next_review_at": _iso(disclosure.next_review_at),
        })  # fmt: skip
    return disclosure


async def end_hold(*, ref: str, reason: str, actor: str, key: bytes | None) -> Disclosure:
    """An indefinite non-disclosure no longer applies (the order was lifted): from now on the
    notices go out as soon as counsel has approved their release."""
    why = rules.check_text(reason, field="reason", limit=2000, newlines=True)
    async with write_transaction() as conn:
        disclosure = await _locked(conn, ref)
        if not disclosure.non_disclosure_indefinite or disclosure.status != rules.HELD:
            raise ConflictError(f"disclosure {ref} has no indefinite non-disclosure to end")
        disclosure.non_disclosure_indefinite = False
        disclosure.non_disclosure_until = utcnow()
        disclosure.next_review_at = None
        await disclosure.save(using_db=conn)
        await _audit(conn, disclosure, actor, key, "disclosure.hold_ended", {"reason": why})
    return disclosure


def view(disclosure: Disclosure) -> dict[str, Any]:
    return {
        "ref": disclosure.ref,
        "status": disclosure.status,
        "authority": disclosure.authority,
        "legal_basis": disclosure.legal_basis,
        "received_at": disclosure.received_at,
        "categories": disclosure.categories,
        "withheld": disclosure.withheld,
        "people": disclosure.subject_count,
        "non_disclosure_until": disclosure.non_disclosure_until,
        "non_disclosure_indefinite": disclosure.non_disclosure_indefinite,
        "next_review_at": disclosure.next_review_at,
        "recorded_by": disclosure.recorded_by,
        "release_approved_by": disclosure.release_approved_by,
        "release_approved_at": disclosure.release_approved_at,
        "released_at": disclosure.released_at,
    }
