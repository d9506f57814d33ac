"""The one email the security team gets about a relay outage that outlasted
``delivery.outage_alert_seconds``."""

from __future__ import annotations

from datetime import datetime

from incident_svc.config import Settings
from incident_svc.mail.internal_message import InternalMessage, internal_message


def outage_email(
    *, settings: Settings, relay: str, since: datetime, until: datetime, error: str
) -> InternalMessage:
    """Plain text: when the relay was unreachable, why, and what the service did meanwhile."""
    minutes = (until - since).total_seconds() / 60
    start = since.isoformat(timespec="seconds")
    end = until.isoformat(timespec="seconds")
    text = (
        f"The SMTP relay {relay} could not be reached from {start} to {end} "
        f"({minutes:.1f} minutes).\n\n"
        f"Last error: {' '.join(error.split())}\n\n"
        "Meanwhile no notice was sent and no delivery attempt was spent: sending was paused and\n"
        "the relay was probed until it answered. Sending has resumed; watch it with\n\n"
        "    incident-svc campaign status ID --watch\n\n"
        "If this happens again, check the relay and the network path to it.\n"
    )
    subject = f"incident-svc: relay {relay} was unreachable for {minutes:.0f} min"
    return internal_message(settings, subject=subject, text=text, kind="relay-outage", at=until)
