"""The tables, one module per domain. Persistence records only: rules live in
incident_svc.domain.

Times are stored in UTC. JSON columns hold small lists and per-locale texts; anything that
is queried in bulk has a column and an index of its own.
"""

from __future__ import annotations

from incident_svc.models.delivery import (
    Campaign,
    CampaignRecipient,
    CampaignSignature,
    Delivery,
    DeliveryAttempt,
    RelayState,
)
from incident_svc.models.evidence import AuditEvent, Banner, BounceReport, WebhookReceipt
from incident_svc.models.inventory import Account, Holding, Subject
from incident_svc.models.matters import (
    Disclosure,
    DisclosureNotice,
    Exposure,
    ExposureExpired,
    Incident,
    IncidentFact,
    Matter,
    ObligationRecord,
    ObligationReminder,
    PolicyVersion,
    ReminderSent,
)

__all__ = [
    "Account",
    "AuditEvent",
    "Banner",
    "BounceReport",
    "Campaign",
    "CampaignRecipient",
    "CampaignSignature",
    "Delivery",
    "DeliveryAttempt",
    "Disclosure",
    "DisclosureNotice",
    "Exposure",
    "ExposureExpired",
    "Holding",
    "Incident",
    "IncidentFact",
    "Matter",
    "ObligationRecord",
    "ObligationReminder",
    "PolicyVersion",
    "RelayState",
    "ReminderSent",
    "Subject",
    "WebhookReceipt",
]
