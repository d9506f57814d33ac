"""Why a notice is sent to someone who opted out of marketing e-mail, recorded on each
delivery (``delivery.send_reason``): (opted out, not opted out) per notice kind. Pure.

Security notices keep the outbox's own reasons; the other matters' notices are
administrative or owed by law, and say which.
"""

from __future__ import annotations

from incident_svc.domain.enums import NoticeKind

_REASONS = {
    NoticeKind.POLICY_CHANGE_NOTICE: (
        "policy change: administrative message, sent despite the marketing opt-out",
        "policy change: administrative message",
    ),
    NoticeKind.POLICY_HOLDER_NOTICE: (
        "policy change: administrative message, sent despite the marketing opt-out",
        "policy change: administrative message",
    ),
    NoticeKind.DISCLOSURE_NOTICE: (
        "disclosure notice: owed by law once permitted, sent despite the marketing opt-out",
        "disclosure notice: owed by law once permitted",
    ),
}


def for_kind(kind: str) -> tuple[str, str] | None:
    """(opted-out reason, plain reason) for ``kind``; None: the security notices' own."""
    return _REASONS.get(NoticeKind(kind)) if kind in {k.value for k in _REASONS} else None
