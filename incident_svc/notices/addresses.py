"""``notice check`` on international addresses: found before anything is sent, not at send.

A domain that is not ASCII travels as A-labels (IDNA 2008); one with no such form cannot be
sent to at all. A local part that is not ASCII needs a relay that offers SMTPUTF8 (RFC 6531):
when any recipient (or ``mail_from``) has one, the relay is asked once, as a send would ask
it, and every such recipient is a finding unless it offers SMTPUTF8.
"""

from __future__ import annotations

import aiosmtplib

from incident_svc.config import Settings
from incident_svc.domain.emails import ascii_address, needs_smtputf8
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import IncidentSvcError
from incident_svc.mail.mime import parse_mailbox
from incident_svc.mail.smtp_pool import relay_offers
from incident_svc.notices.checks import Finding
from incident_svc.notices.sampling import Sample, international

MAX_LISTED = 100  # recipients named per kind of finding; one more finding counts the rest


async def address_findings(
    incident_id: int, kind: NoticeKind, settings: Settings
) -> list[tuple[Sample, Finding]]:
    """One finding per recipient whose address this relay cannot carry."""
    found: list[tuple[Sample, Finding]] = []
    utf8: list[Sample] = []
    for recipient in await international(incident_id, kind):
        try:
            ascii_address(recipient.address)
        except ValueError as exc:
            found.append((recipient, Finding("bad_address", "address", str(exc))))
            continue
        if needs_smtputf8(recipient.address):
            utf8.append(recipient)
    sender = parse_mailbox("mail_from", settings.mail_from).addr
    if not utf8 and not needs_smtputf8(sender):
        return found
    missing = await _smtputf8_missing(settings)
    if missing is None:
        return found
    if needs_smtputf8(sender):  # then every message needs it
        utf8.insert(0, Sample("mail_from", settings.banners.default_locale, sender))
    for recipient in utf8[:MAX_LISTED]:
        message = (
            f"{recipient.address}: the local part is not ASCII, which needs SMTPUTF8, and "
            f"{missing}; correct the address or send through a relay that offers SMTPUTF8"
        )
        found.append((recipient, Finding("needs_smtputf8", "address", message)))
    if len(utf8) > MAX_LISTED:
        rest = f"and {len(utf8) - MAX_LISTED} more recipients whose addresses need SMTPUTF8"
        found.append((utf8[MAX_LISTED], Finding("needs_smtputf8", "address", rest)))
    return found


async def _smtputf8_missing(settings: Settings) -> str | None:
    """None when the relay offers SMTPUTF8, else why it cannot be used."""
    where = f"{settings.smtp.host}:{settings.smtp.port}"
    try:
        if await relay_offers(settings.smtp, "smtputf8"):
            return None
    except (IncidentSvcError, aiosmtplib.SMTPException, OSError) as exc:
        return f"the relay {where} could not be asked whether it offers it ({exc})"
    return f"the relay {where} does not offer it"
