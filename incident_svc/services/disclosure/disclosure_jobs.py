"""What `serve` does for disclosures: release held notices whose non-disclosure period is
over (once counsel approved), and remind the security team to review indefinite holds.

A release is one transaction: the disclosure and its notices turn ``released`` with the
audit event. A review reminder moves ``next_review_at`` on in the transaction that stays open
while the e-mail is handed to the relay (as services.obligations.reminders does): both or neither.
"""

from __future__ import annotations

import logging
from datetime import datetime

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain import disclosure as rules
from incident_svc.mail.internal_message import InternalMessage, internal_message
from incident_svc.models import Disclosure, DisclosureNotice
from incident_svc.services.auditlog import audit
from incident_svc.services.delivery.matter_campaigns import create as matter_create
from incident_svc.services.obligations.reminders import SendEmail

log = logging.getLogger(__name__)
ACTOR = "service:disclosures"


async def next_wakeup(*, now: datetime) -> datetime | None:
    """When the service must next look: a period's end (approved ones) or a review."""
    rows = await Disclosure.filter(status=rules.HELD).values_list(
        "non_disclosure_until", "non_disclosure_indefinite", "release_approved_at", "next_review_at"
    )
    times: list[datetime] = []
    for until, indefinite, approved, review in rows:
        if indefinite and review is not None:
            times.append(review)
        elif approved is not None:
            times.append(until if until is not None else now)
    return min(times, default=None)


async def run_due(
    *, now: datetime, settings: Settings, send: SendEmail, key: bytes | None
) -> list[str]:
    """Release what may be released and send the reviews that are due; the refs acted on."""
    done = [
        ref
        for ref in await _releasable(now)
        if await release(ref=ref, now=now, key=key, settings=settings)
    ]
    for ref in await Disclosure.filter(
        status=rules.HELD, non_disclosure_indefinite=True, next_review_at__lte=now
    ).values_list("ref", flat=True):
        if await _remind(str(ref), now, settings, send, key):
            done.append(str(ref))
    return done


async def _releasable(now: datetime) -> list[str]:
    rows = await Disclosure.filter(status=rules.HELD, release_approved_at__not_isnull=True)
    return [
        d.ref
        for d in rows
        if rules.releasable(
            rules.Hold(d.non_disclosure_until, d.non_disclosure_indefinite),
            approved=True,
            status=d.status,
            now=now,
        )
    ]


async def release(*, ref: str, now: datetime, key: bytes | None, settings: Settings) -> bool:
    """Release the disclosure's held notices, if it still may be (re-checked under lock),
    and make the campaign that e-mails them (services.delivery.matter_campaigns.create), due now."""
    async with write_transaction() as conn:
        d = await Disclosure.filter(ref=ref).using_db(conn).select_for_update().first()
        if d is None or not rules.releasable(
            rules.Hold(d.non_disclosure_until, d.non_disclosure_indefinite),
            approved=d.release_approved_at is not None, status=d.status, now=now,
        ):  # fmt: skip
            return False
        d.status, d.released_at = rules.RELEASED, now
        await d.save(using_db=conn)
        count = (
            await DisclosureNotice.filter(disclosure_id=d.id, status=rules.HELD)
            .using_db(conn)
            .update(status=rules.RELEASED, released_at=now)
        )
        await audit.record(
            conn, actor=ACTOR, action="disclosure.released", target_type="disclosure",
            target_id=d.ref, details={"disclosure": d.ref, "notices": count,
                                      "non_disclosure_until": _iso(d.non_disclosure_until)},
            key=key,
        )  # fmt: skip
        campaign = await matter_create.disclosure_campaign(
            conn, disclosure=d, now=now, actor=ACTOR, key=key, settings=settings
        )
    log.info("disclosure %s released: %d notice(s), campaign %d", ref, count, campaign.id)
    return True


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def _remind(
    ref: str, now: datetime, settings: Settings, send: SendEmail, key: bytes | None
) -> bool:
    async with write_transaction() as conn:
        d = await Disclosure.filter(ref=ref).using_db(conn).select_for_update().first()
        if d is None or d.next_review_at is None or d.next_review_at > now:
            return False  # another process reminded, or someone confirmed meanwhile
        message = review_email(d, now=now, settings=settings)
        d.next_review_at = rules.next_review(now, settings.disclosure.review_days)
        await d.save(using_db=conn)
        await send(message)
        await audit.record(
            conn, actor=ACTOR, action="disclosure.review_reminded", target_type="disclosure",
            target_id=d.ref, details={"disclosure": d.ref, "to": settings.security_team_email,
                                      "message_id": message.message_id,
                                      "next_review_at": _iso(d.next_review_at)},
            key=key,
        )  # fmt: skip
    log.warning(
        "REVIEW %s: indefinite non-disclosure; emailed %s", ref, settings.security_team_email
    )
    return True


def review_email(d: Disclosure, *, now: datetime, settings: Settings) -> InternalMessage:
    """The review reminder: references only, no authority or people in the mail."""
    return internal_message(
        settings,
        kind="disclosure-review",
        at=now,
        subject=f"[{d.ref}] review the indefinite non-disclosure",
        text=(
            f"Disclosure {d.ref} is held under an indefinite non-disclosure order; "
            f"{d.subject_count} notice(s) wait.\n\n"
            "Check with counsel that the order still applies, then record it:\n\n"
            f"    incident-svc disclosure confirm-hold {d.ref} --reason TEXT\n\n"
            "If it was lifted, end the hold (the notices then go out once counsel approved):\n\n"
            f"    incident-svc disclosure end-hold {d.ref} --reason TEXT\n"
        ),
    )
