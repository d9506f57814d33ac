"""Notice history rules: how a delivery ended, and which audience a new campaign gets. Pure.

A delivery's outcome is ``delivery.outcome`` when something happened after dispatch (a bounce
or complaint report, substitute notice), else what its status says. A person counts as
*reached* with a kind when one of its deliveries was accepted and did not bounce; a complaint
still means the notice arrived.
"""

from __future__ import annotations

from incident_svc.domain.enums import AudienceRule, DeliveryStatus, NoticeKind, NoticeOutcome
from incident_svc.errors import ValidationError

BY_STATUS = {
    DeliveryStatus.PENDING: NoticeOutcome.PENDING,
    DeliveryStatus.SENDING: NoticeOutcome.PENDING,
    DeliveryStatus.SENT: NoticeOutcome.ACCEPTED,
    DeliveryStatus.FAILED: NoticeOutcome.FAILED,
    DeliveryStatus.CANCELLED: NoticeOutcome.CANCELLED,
}
REACHED = (NoticeOutcome.ACCEPTED, NoticeOutcome.COMPLAINED)
NOT_REACHED = (NoticeOutcome.FAILED, NoticeOutcome.BOUNCED, NoticeOutcome.SUBSTITUTED)
# the kinds whose recipients are people (subjects); the others go to account holders
PERSON_KINDS = (NoticeKind.SUBJECT_NOTICE, NoticeKind.UPDATE_NOTICE)
GROUPS = ("new", "not_reached", "in_flight", "reached")  # by rank: services.delivery.audience_rules


def outcome(status: str, after: str | None, substituted: bool = False) -> NoticeOutcome:
    """How one delivery ended (or stands): ``after`` is ``delivery.outcome`` (what a report
    said after acceptance: bounced, complained, delayed), ``substituted`` whether a personal
    banner stands in for a notice that never reached its reader."""
    reached_not = status == DeliveryStatus.FAILED or (
        status == DeliveryStatus.SENT and after == "bounced"
    )
    if reached_not:
        if substituted:
            return NoticeOutcome.SUBSTITUTED
        return NoticeOutcome.BOUNCED if status == DeliveryStatus.SENT else NoticeOutcome.FAILED
    if status == DeliveryStatus.SENT and after == "complained":
        return NoticeOutcome.COMPLAINED
    return BY_STATUS.get(DeliveryStatus(status), NoticeOutcome.PENDING)


def default_rule(kind: NoticeKind, *, sent_before: bool) -> AudienceRule:
    """An update goes to everyone told before; another kind to the people it has not been
    sent to yet once it was sent at all, else to everyone."""
    if kind is NoticeKind.UPDATE_NOTICE:
        return AudienceRule.TOLD
    return AudienceRule.NEW if sent_before else AudienceRule.ALL


def parse_rule(value: str | None) -> AudienceRule | None:
    """``--audience`` as given (None: the default applies)."""
    if value is None:
        return None
    try:
        return AudienceRule(value.strip().lower().replace("_", "-"))
    except ValueError:
        allowed = ", ".join(r.value for r in AudienceRule)
        raise ValidationError(
            f"{value!r} is not an audience; use one of {allowed}", field="--audience"
        ) from None


def group_of(rank: int | None) -> str:
    """The group of a member from its best delivery rank (services.delivery.audiences): none yet,
    on its way, tried but not reached, reached."""
    return GROUPS[rank if rank is not None else 0]
