"""One person's data: everything held about them (access), their erasure, and matching an
address to the proof kept about it after retention or erasure (docs/retention.md).

Erasure removes the person from the inventory (their subject row, holdings and exposures) and
pseudonymises their history: each notice's address becomes the keyed pseudonym of the address,
its reference the keyed pseudonym of the reference, and the link to the subject row goes. The
proof of each notice (time, relay reply, Message-ID, content hash) stays, so it can still be
shown to a regulator, and matched to the person if they present their address again.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.incident_fields import one_line
from incident_svc.domain.pseudonym import address_pseudonym, keyed_hash, ref_pseudonym
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, NotFoundError, ValidationError
from incident_svc.models import Banner, Subject
from incident_svc.rawsql import in_list, query
from incident_svc.services.auditlog import audit
from incident_svc.services.privacy import erasure_guard
from incident_svc.services.privacy.retention_kinds import exposures

REF_MAX = 128
ADDRESS_MAX = 320
REASON_MAX = 1000

_NOTICES = """
SELECT d.id, d.campaign_id, i.ref AS incident, m.reference AS matter, c.kind,
       c.status AS campaign_status, d.channel,
       d.recipient_ref, d.address, d.locale, d.status, d.attempts, d.sent_at, d.message_id,
       d.smtp_reply, d.content_hash, d.send_reason, d.last_error
FROM delivery d JOIN campaign c ON c.id = d.campaign_id
LEFT JOIN incident i ON i.id = c.incident_id LEFT JOIN matter m ON m.id = c.matter_id
WHERE {where} ORDER BY d.id
"""
_RECIPIENTS = """
SELECT r.campaign_id, i.ref AS incident, m.reference AS matter, c.kind, r.recipient_ref,
       r.address, r.locale
FROM campaign_recipient r JOIN campaign c ON c.id = r.campaign_id
LEFT JOIN incident i ON i.id = c.incident_id LEFT JOIN matter m ON m.id = c.matter_id
WHERE {where} ORDER BY r.campaign_id
"""


def check_ref(ref: str) -> str:
    if not ref or len(ref) > REF_MAX or not ref.isprintable() or ref != ref.strip():
        raise ValidationError(
            f"expected a subject reference: 1 to {REF_MAX} printable characters", field="REF"
        )
    return ref


def check_address(address: str) -> str:
    text = address.strip()
    if not text or len(text) > ADDRESS_MAX or not text.isprintable():
        raise ValidationError(
            f"expected an address: 1 to {ADDRESS_MAX} printable characters", field="--address"
        )
    return text


async def _subject(ref: str) -> Subject:
    subject = await Subject.get_or_none(external_ref=check_ref(ref)).prefetch_related("account")
    if subject is None:
        raise NotFoundError(f"no subject {ref!r} in the inventory")
    return subject


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# JSON columns come back from raw SQL as their text
_JSON_COLUMNS = {"categories", "reasons", "texts", "content_hashes"}


async def _rows(conn: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    found = []
    for row in await query(conn, sql, values):
        for column in _JSON_COLUMNS & row.keys():
            if isinstance(row[column], str):
                row[column] = json.loads(row[column])
        found.append(_plain(row))
    return found


async def export(ref: str, *, key: bytes | None) -> dict[str, Any]:
    """Everything held about one person, for a data-subject access request."""
    conn = connections.get("default")
    subject = await _subject(ref)
    addresses = [subject.email] + ([address_pseudonym(key, subject.email)] if key else [])
    by_person = f"(d.subject_id = ? OR d.address IN ({in_list(len(addresses))}))"
    notices = await _rows(conn, _NOTICES.format(where=by_person), [subject.id, *addresses])
    for notice in notices:
        notice["attempt_log"] = await _rows(
            conn,
            "SELECT number, at, outcome, code, reply FROM delivery_attempt "
            "WHERE delivery_id = ? ORDER BY number",
            [notice["id"]],
        )
    return {
        "generated_at": utcnow().isoformat(),
        "subject": {
            "external_ref": subject.external_ref,
            "email": subject.email,
            "name": subject.name,
            "locale": subject.locale,
            "jurisdiction": subject.jurisdiction,
            "account_ref": subject.account.account_ref if subject.account else None,
            "role": str(subject.role),
            "marketing_opt_out": subject.marketing_opt_out,
            "timezone": subject.timezone,
            "email_status": str(subject.email_status),
            "created_at": subject.created_at.isoformat(),
            "updated_at": subject.updated_at.isoformat(),
        },
        "holdings": await _rows(
            conn,
            "SELECT system, category, created_at FROM holding WHERE subject_id = ? ORDER BY id",
            [subject.id],
        ),
        "exposures": await _rows(
            conn,
            "SELECT i.ref AS incident, e.categories, e.reasons, e.source, e.created_at "
            "FROM exposure e JOIN incident i ON i.id = e.incident_id WHERE e.subject_id = ? "
            "ORDER BY e.id",
            [subject.id],
        ),
        "notices": notices,
        "approved_audiences": await _rows(
            conn, _RECIPIENTS.format(where="r.subject_id = ?"), [subject.id]
        ),
        "banners": await _rows(
            conn,
            "SELECT b.id, i.ref AS incident, b.texts, b.content_hashes, b.starts_at, b.ends_at, "
            "b.withdrawn_at, b.first_served_at, b.last_served_at, b.serve_count "
            "FROM banner b LEFT JOIN incident i ON i.id = b.incident_id "
            "WHERE b.subject_id = ? ORDER BY b.id",
            [subject.id],
        ),
    }


async def match(address: str, *, key: bytes) -> dict[str, Any]:
    """The notices and audiences kept for an address, whether still in clear or pseudonymised."""
    conn = connections.get("default")
    text = check_address(address)
    pseudonym = address_pseudonym(key, text)
    values = [text.lower(), pseudonym]  # an address in clear is matched in any case
    return {
        "pseudonym": pseudonym,
        "notices": await _rows(
            conn, _NOTICES.format(where="(lower(d.address) = ? OR d.address = ?)"), values
        ),
        "approved_audiences": await _rows(
            conn, _RECIPIENTS.format(where="(lower(r.address) = ? OR r.address = ?)"), values
        ),
        # exposures past their period, or of an erased person (retention_kinds/exposures.py)
        "exposures": await _rows(
            conn,
            "SELECT i.ref AS incident, x.jurisdiction, x.categories, x.source, x.exposed_at, "
            "x.expired_at FROM exposure_expired x JOIN incident i ON i.id = x.incident_id "
            "WHERE x.address_pseudonym = ? ORDER BY x.id",
            [pseudonym],
        ),
    }


async def open_obligations(
    conn: BaseDBAsyncClient, subject: Subject, cache: erasure_guard.ObligationCache
) -> list[str]:
    """The obligations engine's hook: an open obligation of an incident this person was affected
    by, for a place they live in (a notice not yet sent, a regulator report that counts them),
    refuses erasure with its reason (services/privacy/erasure_guard.py)."""
    return await erasure_guard.open_obligations(conn, subject.id, subject.jurisdiction, cache)


async def refusals(
    conn: BaseDBAsyncClient, subject: Subject, cache: erasure_guard.ObligationCache
) -> list[str]:
    """Why this person cannot be erased now: campaigns, obligations, held disclosures."""
    return (
        await erasure_guard.campaigns_in_progress(conn, subject.id)
        + await open_obligations(conn, subject, cache)
        + await erasure_guard.held_disclosures(conn, subject.id)
    )


async def erase(
    ref: str,
    *,
    reason: str,
    actor: str,
    key: bytes,
    audit_key: bytes | None,
    settings: Settings,
) -> dict[str, Any]:
    """Remove the person from the inventory and pseudonymise their history, or refuse (exit 6)
    naming the campaign or obligation that still needs them. One transaction, audited."""
    check_ref(ref)
    why = one_line(reason, field="--reason", max_length=REASON_MAX)
    async with write_transaction() as conn:
        subject = await Subject.filter(external_ref=ref).using_db(conn).first()
        if subject is None:
            raise NotFoundError(f"no subject {ref!r} in the inventory")
        blockers = await refusals(conn, subject, erasure_guard.ObligationCache(settings))
        if blockers:
            raise ConflictError(f"subject {ref} not erased: {'; '.join(blockers)}")
        address = address_pseudonym(key, subject.email)
        new_ref = ref_pseudonym(key, ref)
        counts = await pseudonymise(conn, subject, key)
        await audit.record(
            conn,
            actor=actor,
            action="subject.erased",
            target_type="subject",
            target_id=new_ref,
            details={
                "subject": new_ref,
                "email_hmac": keyed_hash(key, subject.email),
                "reason": why,
                **counts,
            },
            key=audit_key,
        )
    return {"subject": new_ref, "pseudonym": address, "reason": why, **counts}


async def leave(
    ref: str, *, reason: str, actor: str, undo: bool, audit_key: bytes | None
) -> dict[str, Any]:
    """Mark the person as no longer in the inventory (or, with ``undo``, in it again)."""
    check_ref(ref)
    why = one_line(reason, field="--reason", max_length=REASON_MAX)
    async with write_transaction() as conn:
        subject = await Subject.filter(external_ref=ref).using_db(conn).first()
        if subject is None:
            raise NotFoundError(f"no subject {ref!r} in the inventory")
        was = subject.left_at
        left_at = None if undo else (was or utcnow())
        if left_at != was:
            await Subject.filter(id=subject.id).using_db(conn).update(left_at=left_at)
            await audit.record(
                conn,
                actor=actor,
                action="subject.returned" if undo else "subject.left",
                target_type="subject",
                target_id=ref,
                details={"subject": ref, "reason": why},
                key=audit_key,
            )
    return {
        "subject": ref,
        "left_at": left_at.isoformat() if left_at else None,
        "changed": left_at != was,
    }


async def pseudonymise(conn: BaseDBAsyncClient, subject: Subject, key: bytes) -> dict[str, Any]:
    """Erase one person inside the caller's transaction (no audit event: the caller's)."""
    sid = subject.id
    address = address_pseudonym(key, subject.email)
    new_ref = ref_pseudonym(key, subject.external_ref)

    async def run(sql: str, values: list[Any]) -> int:
        rows = await query(conn, sql + " RETURNING 1 AS one", values)
        return len(rows)

    attempts = await run(
        "UPDATE delivery_attempt SET reply = replace(reply, ?, ?) WHERE delivery_id IN "
        "(SELECT id FROM delivery WHERE subject_id = ?) AND reply IS NOT NULL",
        [subject.email, address, sid],
    )
    # the raw reports a relay sent back name the address: emptied (their SHA-256 stays)
    reports = await run(
        "UPDATE bounce_report SET content = ?, detail = replace(detail, ?, ?) WHERE delivery_id "
        "IN (SELECT id FROM delivery WHERE subject_id = ?) AND length(content) > 0",
        [b"", subject.email, address, sid],
    )
    notices = await run(
        "UPDATE delivery SET address = ?, recipient_ref = ?, subject_id = NULL, "
        "smtp_reply = replace(smtp_reply, address, ?), "
        "last_error = replace(last_error, address, ?) WHERE subject_id = ?",
        [address, new_ref, address, address, sid],
    )
    recipients = await run(
        "UPDATE campaign_recipient SET address = ?, recipient_ref = ?, subject_id = NULL "
        "WHERE subject_id = ?",
        [address, new_ref, sid],
    )
    personal = Banner.filter(subject_id=sid).using_db(conn)
    banners = await personal.count()
    # a personal banner's texts may greet the person: they go; its content hashes stay
    await personal.filter(withdrawn_at__isnull=True).update(
        withdrawn_at=utcnow(), withdrawn_by="retention", withdrawn_reason="subject erased"
    )
    await Banner.filter(subject_id=sid).using_db(conn).update(subject_id=None, texts={})
    incidents = await query(
        conn,
        "SELECT i.ref FROM exposure e JOIN incident i ON i.id = e.incident_id "
        "WHERE e.subject_id = ? ORDER BY i.ref",
        [sid],
    )
    # who the incidents affected stays countable and matchable, under the pseudonyms
    await exposures.move(
        conn,
        await query(
            conn,
            "SELECT e.id, s.external_ref, s.email FROM exposure e "
            "JOIN subject s ON s.id = e.subject_id WHERE e.subject_id = ? ORDER BY e.id",
            [sid],
        ),
        key,
    )
    # a released disclosure's notice went out as a campaign, whose proof stays
    await run("DELETE FROM disclosure_notice WHERE subject_id = ? AND status <> 'held'", [sid])
    holdings = await run("DELETE FROM holding WHERE subject_id = ?", [sid])
    await run("DELETE FROM subject WHERE id = ?", [sid])
    return {
        "notices": notices,
        "attempts": attempts,
        "bounce_reports": reports,
        "approved_audiences": recipients,
        "banners": banners,
        "holdings": holdings,
        "exposures": [str(r["ref"]) for r in incidents],
    }
