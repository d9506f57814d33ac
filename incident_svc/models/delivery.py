"""Campaigns and delivery: the approved snapshot's recipients, each delivery and its
attempts, the relay's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from incident_svc.domain.enums import (
    AttemptOutcome,
    AudienceRule,
    CampaignStatus,
    Channel,
    DeliveryOutcome,
    DeliveryStatus,
    NoticeKind,
)

if TYPE_CHECKING:
    from incident_svc.models.inventory import Account, Subject
    from incident_svc.models.matters import Incident, Matter


class Campaign(Model):
    id = fields.BigIntField(primary_key=True)
    # None for a campaign of another matter (a policy change, a disclosure): the matter is
    # what every campaign is about (services.delivery.campaign_matter)
    incident: fields.ForeignKeyNullableRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="campaigns", null=True, on_delete=fields.RESTRICT
    )
    matter: fields.ForeignKeyNullableRelation[Matter] = fields.ForeignKeyField(
        "models.Matter", related_name="campaigns", null=True, on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(NoticeKind, max_length=32)
    channels: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    template_hash = fields.CharField(max_length=64, null=True)
    audience_count = fields.IntField(default=0)
    # which part of the affected list it is for, chosen at creation (services.delivery.audiences)
    # db_default: columns added to a table that has rows need a default in the database too
    audience = fields.CharEnumField(
        AudienceRule, max_length=16, default=AudienceRule.ALL, db_default=AudienceRule.ALL
    )
    # the affected list in groups when it was created: new, not_reached, in_flight, reached,
    # told, told_no_longer_affected (services.delivery.audiences)
    audience_groups: dict[str, int] = fields.JSONField(default=dict, db_default={})  # type: ignore[assignment]
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.DRAFT)
    scheduled_at = fields.DatetimeField(null=True)
    hold_until = fields.DatetimeField(null=True)
    hold_reason = fields.TextField(null=True)
    created_by = fields.CharField(max_length=128)  # labels (--actor); identities below
    approved_by = fields.CharField(max_length=128, null=True)
    approved_at = fields.DatetimeField(null=True)
    # proven identities (incident_svc.domain.identity): "postgres:ROLE" or "os:ACCOUNT", and
    # the SSH principal that signed, if any; normalised
    creator_identity = fields.CharField(max_length=255, null=True)
    creator_principal = fields.CharField(max_length=255, null=True)
    approver_identity = fields.CharField(max_length=255, null=True)
    approver_principal = fields.CharField(max_length=255, null=True)
    # the approval policy in force when the campaign was created, and where it came from
    approval_required = fields.BooleanField(default=True, db_default=True)
    approval_source = fields.CharField(max_length=200, default="", db_default="")
    # what the approval binds: canonical JSON text (domain.approval) and its SHA-256
    approval_snapshot = fields.TextField(null=True)
    approval_digest = fields.CharField(max_length=64, null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaign"
        indexes = (Index(fields=("status", "scheduled_at")),)


class CampaignSignature(Model):
    """An SSH signature of a campaign's creation or approval, kept to be checked again later.

    A creation statement carries a nonce, and its hash (``creation_sha256``, unique) makes it
    usable once; an approval names its campaign and digest, so it approves nothing else.
    """

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="signatures", on_delete=fields.RESTRICT
    )
    role = fields.CharField(max_length=16)  # "creator" or "approver"
    principal = fields.CharField(max_length=255)
    text = fields.TextField()
    creation_sha256 = fields.CharField(max_length=64, unique=True, null=True)
    signature = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaign_signature"


class CampaignRecipient(Model):
    """One recipient of a campaign's frozen audience (written at approval, set-based)."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="recipients", on_delete=fields.CASCADE
    )
    member_id = fields.BigIntField()  # the subject's id, or the account's for holder notices
    subject_id = fields.BigIntField(null=True)
    account_id = fields.BigIntField(null=True)
    recipient_ref = fields.CharField(max_length=128)
    address = fields.CharField(max_length=320)
    locale = fields.CharField(max_length=35)

    class Meta:
        table = "campaign_recipient"
        unique_together = (("campaign_id", "member_id"),)


class Delivery(Model):
    """One notice to one recipient over one channel: the outbox row and its proof."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="deliveries", on_delete=fields.RESTRICT
    )
    # subject external_ref, or account_ref for account-holder notices
    recipient_ref = fields.CharField(max_length=128)
    channel = fields.CharEnumField(Channel, max_length=16, default=Channel.EMAIL)
    subject: fields.ForeignKeyNullableRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="deliveries", null=True, on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="deliveries", null=True, on_delete=fields.RESTRICT
    )
    address = fields.CharField(max_length=320)
    locale = fields.CharField(max_length=35, default="en")
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    message_id = fields.CharField(max_length=255, null=True)  # stable across retries
    smtp_reply = fields.TextField(null=True)
    sent_at = fields.DatetimeField(null=True)
    content_hash = fields.CharField(max_length=64, null=True)
    send_reason = fields.CharField(max_length=128, null=True)
    last_error = fields.TextField(null=True)
    # after acceptance: what a report said (bounce, complaint, delay); status and smtp_reply
    # keep the proof of dispatch (docs/bounces.md; how a notice ended for its reader is
    # domain.notice_history.outcome)
    outcome = fields.CharEnumField(DeliveryOutcome, max_length=16, null=True)
    outcome_at = fields.DatetimeField(null=True)
    substituted_at = fields.DatetimeField(null=True)  # personal banner switched on instead
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "delivery"
        unique_together = (("campaign_id", "recipient_ref", "channel"),)
        # the second and third serve notice history and audiences (who was told what)
        indexes = (
            Index(fields=("campaign_id", "status", "next_attempt_at")),
            Index(fields=("subject_id", "campaign_id", "status", "outcome")),
            Index(fields=("account_id", "campaign_id", "status", "outcome")),
        )


class DeliveryAttempt(Model):
    """Every try to hand a delivery to SMTP, with the server's answer."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "models.Delivery", related_name="attempt_log", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    at = fields.DatetimeField()
    outcome = fields.CharEnumField(AttemptOutcome, max_length=16)
    code = fields.IntField(null=True)
    reply = fields.TextField(null=True)

    class Meta:
        table = "delivery_attempt"
        unique_together = (("delivery_id", "number"),)


class RelayState(Model):
    """What the dispatchers last learnt about one SMTP relay, for other processes to read
    (`campaign status`, /healthz, /metrics); one row per relay ("host:port")."""

    relay = fields.CharField(max_length=300, primary_key=True)
    up = fields.BooleanField(default=True)
    down_since = fields.DatetimeField(null=True)
    next_probe_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    alerted_at = fields.DatetimeField(null=True)  # the outage email went out (one per outage)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "relay_state"
