"""The tables. Persistence records only: rules live in incident_svc.domain.

Times are stored in UTC. JSON columns hold small lists and per-locale texts; anything that
is queried in bulk has a column and an index of its own.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from incident_svc.domain.enums import (
    AttemptOutcome,
    AudienceRule,
    BannerAudience,
    BannerSeverity,
    CampaignStatus,
    Channel,
    DeliveryOutcome,
    DeliveryStatus,
    EmailStatus,
    ExposureSource,
    IncidentStatus,
    MatterKind,
    NoticeKind,
    ReportKind,
    Role,
    Severity,
)


class Account(Model):
    """A customer organisation."""

    id = fields.BigIntField(primary_key=True)
    account_ref = fields.CharField(max_length=128, unique=True)
    name = fields.CharField(max_length=256)
    region = fields.CharField(max_length=16)
    holder_email = fields.CharField(max_length=320)
    holder_name = fields.CharField(max_length=256)
    locale = fields.CharField(max_length=35, default="en")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "account"


class Subject(Model):
    """A person whose data the company holds."""

    id = fields.BigIntField(primary_key=True)
    external_ref = fields.CharField(max_length=128, unique=True)
    email = fields.CharField(max_length=320)
    name = fields.CharField(max_length=256)
    locale = fields.CharField(max_length=35, default="en")
    jurisdiction = fields.CharField(max_length=6)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="subjects", null=True, on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(Role, max_length=32, default=Role.PARTICIPANT)
    marketing_opt_out = fields.BooleanField(default=False)
    timezone = fields.CharField(max_length=64, default="UTC")
    email_status = fields.CharEnumField(EmailStatus, max_length=16, default=EmailStatus.OK)
    left_at = fields.DatetimeField(null=True)  # `subject leave`: no longer in the inventory
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "subject"
        indexes = (Index(fields=("account_id",)), Index(fields=("jurisdiction",)))


class Holding(Model):
    """One system holding one category of one subject's data."""

    id = fields.BigIntField(primary_key=True)
    subject: fields.ForeignKeyRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="holdings", on_delete=fields.CASCADE
    )
    system = fields.CharField(max_length=128)
    category = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "holding"
        unique_together = (("subject_id", "system", "category"),)
        indexes = (Index(fields=("system", "category", "subject_id")),)


class Incident(Model):
    id = fields.BigIntField(primary_key=True)
    ref = fields.CharField(max_length=32, unique=True)  # INC-2026-0001
    title = fields.CharField(max_length=256)
    summary = fields.TextField()
    severity = fields.CharEnumField(Severity, max_length=16)
    status = fields.CharEnumField(
        IncidentStatus, max_length=16, default=IncidentStatus.INVESTIGATING
    )
    occurred_from = fields.DatetimeField(null=True)
    occurred_to = fields.DatetimeField(null=True)
    discovered_at = fields.DatetimeField()  # when we became aware
    systems: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    categories: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    jurisdictions: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    account_refs: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    # {locale: {what_happened, consequences, measures, protective_steps, contact}}
    texts: dict[str, dict[str, str]] = fields.JSONField(default=dict)  # type: ignore[assignment]
    regulator_notified_at = fields.DatetimeField(null=True)
    regulator_reference = fields.CharField(max_length=256, null=True)
    affected_count = fields.IntField(default=0)
    affected_hash = fields.CharField(max_length=64, null=True)
    affected_resolved_at = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "incident"


class Matter(Model):
    """What notices are about: an incident, a policy change, or a disclosure to an authority.

    Campaigns and banners point at their matter; an incident's matter is made with it.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(MatterKind, max_length=32)
    reference = fields.CharField(max_length=128, unique=True)  # INC-2026-0001, POLICY-v3
    title = fields.CharField(max_length=256)
    incident: fields.ForeignKeyNullableRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="matters", null=True, unique=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "matter"


class PolicyVersion(Model):
    """One published version of the privacy policy (its matter is kind policy_change)."""

    id = fields.BigIntField(primary_key=True)
    matter: fields.ForeignKeyRelation[Matter] = fields.ForeignKeyField(
        "models.Matter", related_name="policy_versions", unique=True, on_delete=fields.RESTRICT
    )
    version = fields.CharField(max_length=64, unique=True)
    document_name = fields.CharField(max_length=255)
    document_sha256 = fields.CharField(max_length=64)
    document_url = fields.CharField(max_length=2048, null=True)  # where to read it in full
    summaries: dict[str, str] = fields.JSONField(default=dict)  # type: ignore[assignment]
    material = fields.BooleanField()
    published_by = fields.CharField(max_length=128)
    published_at = fields.DatetimeField()
    banner_id = fields.BigIntField(null=True)  # the prominent public notice (material only)

    class Meta:
        table = "policy_version"


class Disclosure(Model):
    """Data disclosed to an authority, and the notice its people are owed once the law allows.

    Held while non-disclosure applies (until a time, or indefinitely and reviewed every
    ``disclosure.review_days``); released by the service once counsel approved the release
    (four-eyes, as for campaigns) and no non-disclosure period is running.
    """

    id = fields.BigIntField(primary_key=True)
    matter: fields.ForeignKeyRelation[Matter] = fields.ForeignKeyField(
        "models.Matter", related_name="disclosures", unique=True, on_delete=fields.RESTRICT
    )
    ref = fields.CharField(max_length=32, unique=True)  # DIS-2026-0001
    authority = fields.CharField(max_length=256)
    legal_basis = fields.TextField()
    received_at = fields.DatetimeField()
    categories: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    withheld: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    subject_count = fields.IntField(default=0)
    non_disclosure_until = fields.DatetimeField(null=True)
    non_disclosure_indefinite = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default="held")  # held, released
    next_review_at = fields.DatetimeField(null=True)  # indefinite holds only
    recorded_by = fields.CharField(max_length=128)
    recorder_identity = fields.CharField(max_length=255)
    recorder_principal = fields.CharField(max_length=255, null=True)
    release_approved_by = fields.CharField(max_length=128, null=True)
    release_approver_identity = fields.CharField(max_length=255, null=True)
    release_approver_principal = fields.CharField(max_length=255, null=True)
    release_approved_at = fields.DatetimeField(null=True)
    released_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "disclosure"
        indexes = (Index(fields=("status", "non_disclosure_until")),)


class DisclosureNotice(Model):
    """One person's notice of a disclosure: created with it, held, released with it."""

    id = fields.BigIntField(primary_key=True)
    disclosure: fields.ForeignKeyRelation[Disclosure] = fields.ForeignKeyField(
        "models.Disclosure", related_name="notices", on_delete=fields.RESTRICT
    )
    subject: fields.ForeignKeyRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="disclosure_notices", on_delete=fields.RESTRICT
    )
    status = fields.CharField(max_length=16, default="held")  # held, released
    released_at = fields.DatetimeField(null=True)

    class Meta:
        table = "disclosure_notice"
        unique_together = (("disclosure_id", "subject_id"),)


class Exposure(Model):
    """One affected subject of one incident: the frozen affected list."""

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="exposures", on_delete=fields.CASCADE
    )
    subject: fields.ForeignKeyRelation[Subject] = fields.ForeignKeyField(
        "models.Subject", related_name="exposures", on_delete=fields.RESTRICT
    )
    categories: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    # [{"source": "holding", "system": ..., "category": ...}, {"source": "include_list", ...}]
    reasons: list[dict[str, str]] = fields.JSONField(default=list)  # type: ignore[assignment]
    source = fields.CharEnumField(ExposureSource, max_length=16, default=ExposureSource.HOLDING)
    created_at = fields.DatetimeField(auto_now_add=True)
    # first sent subject notice or personal banner (services/incident/reach.py keeps it)
    first_reached_at = fields.DatetimeField(null=True)

    class Meta:
        table = "exposure"
        unique_together = (("incident_id", "subject_id"),)
        # covers the obligations' census (residents and reach in one pass, no table reads)
        indexes = (Index(fields=("incident_id", "subject_id", "first_reached_at")),)


class ExposureExpired(Model):
    """An exposure past its retention period: who, as keyed pseudonyms (docs/retention.md)."""

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="expired_exposures", on_delete=fields.RESTRICT
    )
    address_pseudonym = fields.CharField(max_length=70)  # of the subject's address
    ref_pseudonym = fields.CharField(max_length=71)  # of the subject's reference
    jurisdiction = fields.CharField(max_length=6)
    categories: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    source = fields.CharEnumField(ExposureSource, max_length=16, default=ExposureSource.HOLDING)
    exposed_at = fields.DatetimeField()  # the exposure's created_at
    expired_at = fields.DatetimeField()

    class Meta:
        table = "exposure_expired"
        indexes = (Index(fields=("incident_id",)), Index(fields=("address_pseudonym",)))


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
class ReminderSent(Model):
    """A deadline reminder that went out, so that it goes out once."""

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="reminders", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=64)
    offset_hours = fields.FloatField()
    sent_at = fields.DatetimeField()

    class Meta:
        table = "reminder_sent"
        unique_together = (("incident_id", "kind", "offset_hours"),)


class ObligationReminder(Model):
    """A reminder of one obligation at one threshold that went out, so that it goes out once
    (services/obligations/reminders.py). ``key`` is the obligation key, or ``regulator_deadline`` for the
    reminder of an incident whose affected list is not resolved yet."""

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="obligation_reminders", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=96)
    threshold = fields.CharField(max_length=16)  # 50%, 75%, 90%, due, or 24h, 4h
    due_at = fields.DatetimeField()  # the due time the reminder counted down to
    sent_at = fields.DatetimeField()

    class Meta:
        table = "obligation_reminder"
        unique_together = (("incident_id", "key", "threshold"),)


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


class IncidentFact(Model):
    """One fact the notification rules test, as the operator established it (docs/obligations.md).

    ``name`` is a clock-start kind (``aware``, ``determined`` ...) with ``at`` set, a flag
    (``high_risk``, ``encrypted`` ...) with ``value`` set, or ``law_enforcement_delay_until``.
    """

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="facts", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=48)
    at = fields.DatetimeField(null=True)
    value = fields.BooleanField(null=True)
    set_by = fields.CharField(max_length=128)
    set_at = fields.DatetimeField()
    reason = fields.TextField()

    class Meta:
        table = "incident_fact"
        unique_together = (("incident_id", "name"),)


class ObligationRecord(Model):
    """An obligation recorded as met (with its reference and evidence), or a decision not to
    notify (with its reason and who decided), kept until ``retain_until``."""

    id = fields.BigIntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="obligation_records", on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=96)  # rule id, or "rule-id:DE" for one place of a fan-out
    kind = fields.CharField(max_length=16)  # met | declined
    at = fields.DatetimeField()
    reference = fields.CharField(max_length=256, null=True)
    reason = fields.TextField(null=True)  # why not notified (declined)
    late_reason = fields.TextField(null=True)
    evidence_name = fields.CharField(max_length=256, null=True)
    evidence_sha256 = fields.CharField(max_length=64, null=True)
    evidence_size = fields.BigIntField(null=True)
    recorded_by = fields.CharField(max_length=128)
    recorded_at = fields.DatetimeField()
    retain_until = fields.DateField(null=True)

    class Meta:
        table = "obligation_record"
        unique_together = (("incident_id", "key"),)


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
