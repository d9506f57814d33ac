"""What came back and what was shown: bounce reports, webhook receipts, banners, and the
audit chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from incident_svc.domain.enums import (
    BannerAudience,
    BannerSeverity,
    DeliveryOutcome,
    ReportKind,
)

if TYPE_CHECKING:
    from incident_svc.models.delivery import Delivery
    from incident_svc.models.inventory import Subject
    from incident_svc.models.matters import Incident, Matter


class BounceReport(Model):
    """A delivery status notification or abuse report, kept whole as evidence on its delivery."""

    id = fields.BigIntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, unique=True)  # of raw: ingesting twice is a no-op
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "models.Delivery", related_name="reports", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(ReportKind, max_length=16)
    outcome = fields.CharEnumField(DeliveryOutcome, max_length=16)
    status = fields.CharField(max_length=16, null=True)  # RFC 3463 code, e.g. 5.1.1
    detail = fields.TextField(null=True)  # diagnostic code or feedback type
    matched_by = fields.CharField(max_length=16)  # "verp" or "message-id"
    source = fields.CharField(max_length=255)
    content = fields.BinaryField()  # the report exactly as received
    received_at = fields.DatetimeField()

    class Meta:
        table = "bounce_report"
        indexes = (Index(fields=("delivery_id",)),)


class WebhookReceipt(Model):
    """A provider webhook request already taken in, so that a replay of it is refused."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    key = fields.CharField(max_length=64)  # sha256 of the provider's message id or token
    received_at = fields.DatetimeField()

    class Meta:
        table = "webhook_receipt"
        unique_together = (("provider", "key"),)
        indexes = (Index(fields=("received_at",)),)


class Banner(Model):
    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyNullableRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="banners", null=True, on_delete=fields.RESTRICT
    )
    matter: fields.ForeignKeyNullableRelation[Matter] = fields.ForeignKeyField(
        "models.Matter", related_name="banners", null=True, on_delete=fields.RESTRICT
    )
    audience = fields.CharEnumField(BannerAudience, max_length=32)
    # a personal banner (for example after a bounce) names its one subject
    subject: fields.ForeignKeyNullableRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="banners", null=True, on_delete=fields.RESTRICT
    )
    severity = fields.CharEnumField(BannerSeverity, max_length=16, default=BannerSeverity.WARNING)
    # {locale: {"title": ..., "body": ...}}
    texts: dict[str, dict[str, str]] = fields.JSONField(default=dict)  # type: ignore[assignment]
    content_hashes: dict[str, str] = fields.JSONField(default=dict)  # type: ignore[assignment]
    link = fields.CharField(max_length=2048, null=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True)
    withdrawn_at = fields.DatetimeField(null=True)
    withdrawn_by = fields.CharField(max_length=128, null=True)
    withdrawn_reason = fields.TextField(null=True)
    first_served_at = fields.DatetimeField(null=True)
    last_served_at = fields.DatetimeField(null=True)
    serve_count = fields.BigIntField(default=0)
    created_by = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "banner"
        indexes = (
            Index(fields=("starts_at", "ends_at")),
            Index(fields=("incident_id", "subject_id")),
        )


# Written by versions before ObligationReminder; now only read, so that an upgrade repeats
# no reminder (services/obligations/reminders.py).


class AuditEvent(Model):
    """One link of the tamper-evident chain. Written only by services.auditlog.audit.

    ``at`` and ``details`` are stored as the exact text that was hashed, so that
    verification never depends on how a database round-trips times or JSON.
    """

    seq = fields.BigIntField(primary_key=True, generated=False)
    at = fields.CharField(max_length=40)  # ISO 8601 UTC with microseconds
    actor = fields.CharField(max_length=128)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=128)
    details = fields.TextField()  # canonical JSON
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        indexes = (Index(fields=("target_type", "target_id")), Index(fields=("at",)))
