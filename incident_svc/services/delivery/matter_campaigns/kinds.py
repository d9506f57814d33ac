"""Which notice kinds belong to which matter kind (pure)."""

from __future__ import annotations

from incident_svc.domain.enums import NoticeKind

POLICY_KINDS = (NoticeKind.POLICY_CHANGE_NOTICE, NoticeKind.POLICY_HOLDER_NOTICE)
DISCLOSURE_KINDS = (NoticeKind.DISCLOSURE_NOTICE,)
MATTER_KINDS = (*POLICY_KINDS, *DISCLOSURE_KINDS)
# kinds whose recipients are account holders (the rest are subjects)
HOLDER_KINDS = (NoticeKind.POLICY_HOLDER_NOTICE,)


def is_matter_kind(kind: str) -> bool:
    return kind in {k.value for k in MATTER_KINDS}
