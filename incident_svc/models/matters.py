"""Matters: incidents, policy versions and disclosures, who each exposed, and the facts and
records the legal obligations read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from incident_svc.domain.enums import (
    ExposureSource,
    IncidentStatus,
    MatterKind,
    Severity,
)

if TYPE_CHECKING:
    from incident_svc.models.inventory import Subject


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
    # the subject's residence, kept here by database triggers (migration 0014): an insert
    # without it ('' by default) takes the subject's, and a subject's change moves it
    jurisdiction = fields.CharField(max_length=6, db_default="")

    class Meta:
        table = "exposure"
        unique_together = (("incident_id", "subject_id"),)
        # covers the obligations' census: residents and reach by residence in one ordered
        # index-only range scan, no join and no sort (services/obligations/residence.py)
        indexes = (Index(fields=("incident_id", "jurisdiction", "first_reached_at")),)


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
