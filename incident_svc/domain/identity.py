"""Who did it: labels people type, identities they prove, and the four-eyes rule over them.

A *label* (``--actor``) is free text for people reading the audit log; it decides nothing.
An *identity* is established by something the person cannot simply type: the database role of
the session (PostgreSQL), the operating-system account running the command (SQLite), or the
principal of an SSH key that signed a statement (any backend; required in signed mode).
Identities are compared only in their normal form (:func:`normalise`), so that ``Alice``,
``alice `` and ``ａｌｉｃｅ`` (full width) are one person.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from incident_svc.errors import ValidationError

LABEL_WIDTH = 128  # the actor columns (campaign.created_by, audit_event.actor, ...)
IDENTITY_WIDTH = 255  # campaign.creator_identity and friends
SIGNATURE_NAMESPACE = "incident-svc-approval"
# control, format (zero-width, bidi overrides), surrogate, line and paragraph separators
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
ApprovalMode = Literal["identity", "signed"]


def normalise(text: str) -> str:
    """The form identities are compared in: Unicode NFKC, case-folded, trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.strip()


def refused_character(text: str) -> str | None:
    """The first character a label or identity may not contain, as ``U+XXXX``, or None."""
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def check_label(text: str, *, field: str, width: int = LABEL_WIDTH) -> str:
    """A label as stored: trimmed; ValidationError for control characters, empty or too long."""
    bad = refused_character(text)
    if bad is not None:
        raise ValidationError(f"contains a control or invisible character ({bad})", field=field)
    label = text.strip()
    if not label:
        raise ValidationError("is empty", field=field)
    if len(label) > width:
        raise ValidationError(f"is {len(label)} characters long; at most {width}", field=field)
    return label


def identity_name(text: str, *, field: str) -> str:
    """A proven name (role, account, principal) in normal form, checked like a label."""
    return normalise(check_label(text, field=field, width=IDENTITY_WIDTH - 16))


@dataclass(frozen=True)
class Identity:
    """Who a session proved to be: ``session`` like ``postgres:alice`` or ``os:alice``, and the
    principal of the SSH key that signed for them, when they signed."""

    session: str
    principal: str | None = None

    @property
    def names(self) -> frozenset[str]:
        """Every normalised name this person is known by (account or role, and principal)."""
        bare = self.session.partition(":")[2]
        return frozenset(n for n in (bare, self.principal) if n)

    def shown(self) -> str:
        return self.principal or self.session


def four_eyes_problem(mode: ApprovalMode, creator: Identity, approver: Identity) -> str | None:
    """Why ``approver`` may not approve what ``creator`` created, or None when they may.

    identity mode: the sessions must differ (two database roles, or two OS accounts), and
    where both signed, the principals too. signed mode: both must have signed, with keys of
    two different principals, and the approver's principal must not be any name the creator
    is known by; the sessions may be the same (one machine, one account, two keys).
    """
    if mode == "signed":
        if creator.principal is None:
            return (
                "its creator did not sign it; in signed mode the creator signs at "
                "`campaign create --sign-with KEY`"
            )
        if approver.principal is None:
            return "signed mode needs the approver's SSH signature (--signature or --sign-with)"
        if approver.principal in creator.names:
            return (
                f"it was created by {creator.shown()}, and {approver.principal} signed the approval"
            )
        return None
    if approver.session == creator.session:
        return f"it was created by {creator.session}, the identity approving it"
    if approver.principal is not None and approver.principal in creator.names:
        return f"it was created by {approver.principal}, whose key signed the approval"
    return None


def approval_text(campaign_id: int, digest: str) -> str:
    """What an approver signs: the campaign and its approval digest, bound together, so that a
    signature approves this campaign only (not another one with the same content)."""
    return f"incident-svc approval\ncampaign: {campaign_id}\ndigest: {digest}\n"


def creation_text(incident_ref: str, kind: str, nonce: str) -> str:
    """What a creator signs in signed mode; the nonce makes each statement usable once."""
    return f"incident-svc creation\nincident: {incident_ref}\nkind: {kind}\nnonce: {nonce}\n"


def creation_fields(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a creation statement (empty for anything else)."""
    lines = text.split("\n")
    if not lines or lines[0] != "incident-svc creation":
        return {}
    pairs = (line.partition(": ") for line in lines[1:] if line)
    return {key: value for key, _, value in pairs}
