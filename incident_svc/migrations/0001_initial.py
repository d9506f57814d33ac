from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from incident_svc.domain.enums import (
    AttemptOutcome,
    BannerAudience,
    BannerSeverity,
    CampaignStatus,
    Channel,
    DeliveryStatus,
    EmailStatus,
    ExposureSource,
    IncidentStatus,
    NoticeKind,
    Role,
    Severity,
)
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("account_ref", fields.CharField(unique=True, max_length=128)),
                ("name", fields.CharField(max_length=256)),
                ("region", fields.CharField(max_length=16)),
                ("holder_email", fields.CharField(max_length=320)),
                ("holder_name", fields.CharField(max_length=256)),
                ("locale", fields.CharField(default="en", max_length=35)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "account",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A customer organisation.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEvent",
            fields=[
                ("seq", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ("at", fields.CharField(max_length=40)),
                ("actor", fields.CharField(max_length=128)),
                ("action", fields.CharField(max_length=64)),
                ("target_type", fields.CharField(max_length=32)),
                ("target_id", fields.CharField(max_length=128)),
                ("details", fields.TextField(unique=False)),
                ("prev_hash", fields.CharField(max_length=64)),
                ("hash", fields.CharField(max_length=64)),
            ],
            options={
                "table": "audit_event",
                "app": "models",
                "indexes": [Index(fields=["target_type", "target_id"]), Index(fields=["at"])],
                "pk_attr": "seq",
                "table_description": "One link of the tamper-evident chain. Written only by services.audit.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Incident",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("ref", fields.CharField(unique=True, max_length=32)),
                ("title", fields.CharField(max_length=256)),
                ("summary", fields.TextField(unique=False)),
                (
                    "severity",
                    fields.CharEnumField(
                        description="LOW: low\nMEDIUM: medium\nHIGH: high\nCRITICAL: critical",
                        enum_type=Severity,
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=IncidentStatus.INVESTIGATING,
                        description="INVESTIGATING: investigating\nCONFIRMED: confirmed\nNOTIFYING: notifying\nCLOSED: closed\nDISMISSED: dismissed",
                        enum_type=IncidentStatus,
                        max_length=16,
                    ),
                ),
                (
                    "occurred_from",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "occurred_to",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("discovered_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "systems",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "categories",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "jurisdictions",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "account_refs",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "texts",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "regulator_notified_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("regulator_reference", fields.CharField(null=True, max_length=256)),
                ("affected_count", fields.IntField(default=0)),
                ("affected_hash", fields.CharField(null=True, max_length=64)),
                (
                    "affected_resolved_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_by", fields.CharField(max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "incident", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Campaign",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="campaigns",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="SUBJECT_NOTICE: subject_notice\nACCOUNT_HOLDER_NOTICE: account_holder_notice\nBANNER: banner",
                        enum_type=NoticeKind,
                        max_length=32,
                    ),
                ),
                (
                    "channels",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("template_hash", fields.CharField(null=True, max_length=64)),
                ("audience_count", fields.IntField(default=0)),
                (
                    "status",
                    fields.CharEnumField(
                        default=CampaignStatus.DRAFT,
                        description="DRAFT: draft\nAPPROVED: approved\nSCHEDULED: scheduled\nSENDING: sending\nCOMPLETED: completed\nCANCELLED: cancelled",
                        enum_type=CampaignStatus,
                        max_length=16,
                    ),
                ),
                (
                    "scheduled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("hold_until", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("hold_reason", fields.TextField(null=True, unique=False)),
                ("created_by", fields.CharField(max_length=128)),
                ("approved_by", fields.CharField(null=True, max_length=128)),
                (
                    "approved_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "campaign",
                "app": "models",
                "indexes": [Index(fields=["status", "scheduled_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ReminderSent",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reminders",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=64)),
                ("offset_hours", fields.FloatField()),
                ("sent_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "reminder_sent",
                "app": "models",
                "unique_together": (("incident_id", "kind", "offset_hours"),),
                "pk_attr": "id",
                "table_description": "A deadline reminder that went out, so that it goes out once.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Subject",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("external_ref", fields.CharField(unique=True, max_length=128)),
                ("email", fields.CharField(max_length=320)),
                ("name", fields.CharField(max_length=256)),
                ("locale", fields.CharField(default="en", max_length=35)),
                ("jurisdiction", fields.CharField(max_length=6)),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="subjects",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        default=Role.PARTICIPANT,
                        description="PARTICIPANT: participant\nACCOUNT_HOLDER: account_holder\nBILLING_CONTACT: billing_contact\nVISITOR: visitor",
                        enum_type=Role,
                        max_length=32,
                    ),
                ),
                ("marketing_opt_out", fields.BooleanField(default=False)),
                ("timezone", fields.CharField(default="UTC", max_length=64)),
                (
                    "email_status",
                    fields.CharEnumField(
                        default=EmailStatus.OK,
                        description="OK: ok\nBOUNCED: bounced",
                        enum_type=EmailStatus,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "subject",
                "app": "models",
                "indexes": [Index(fields=["account_id"]), Index(fields=["jurisdiction"])],
                "pk_attr": "id",
                "table_description": "A person whose data the company holds.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Banner",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="banners",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "audience",
                    fields.CharEnumField(
                        description="PUBLIC: public\nAFFECTED_ACCOUNTS: affected_accounts\nAFFECTED_SUBJECTS: affected_subjects",
                        enum_type=BannerAudience,
                        max_length=32,
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Subject",
                        source_field="subject_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="banners",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "severity",
                    fields.CharEnumField(
                        default=BannerSeverity.WARNING,
                        description="INFO: info\nWARNING: warning\nCRITICAL: critical",
                        enum_type=BannerSeverity,
                        max_length=16,
                    ),
                ),
                (
                    "texts",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "content_hashes",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("link", fields.CharField(null=True, max_length=2048)),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "withdrawn_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("withdrawn_by", fields.CharField(null=True, max_length=128)),
                ("withdrawn_reason", fields.TextField(null=True, unique=False)),
                (
                    "first_served_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_served_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("serve_count", fields.BigIntField(default=0)),
                ("created_by", fields.CharField(max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "banner",
                "app": "models",
                "indexes": [Index(fields=["starts_at", "ends_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Delivery",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "campaign",
                    fields.ForeignKeyField(
                        "models.Campaign",
                        source_field="campaign_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("recipient_ref", fields.CharField(max_length=128)),
                (
                    "channel",
                    fields.CharEnumField(
                        default=Channel.EMAIL,
                        description="EMAIL: email",
                        enum_type=Channel,
                        max_length=16,
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Subject",
                        source_field="subject_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "models.Account",
                        source_field="account_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("address", fields.CharField(max_length=320)),
                ("locale", fields.CharField(default="en", max_length=35)),
                (
                    "status",
                    fields.CharEnumField(
                        default=DeliveryStatus.PENDING,
                        description="PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed\nCANCELLED: cancelled",
                        enum_type=DeliveryStatus,
                        max_length=16,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("lease_owner", fields.CharField(null=True, max_length=64)),
                (
                    "lease_expires_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("message_id", fields.CharField(null=True, max_length=255)),
                ("smtp_reply", fields.TextField(null=True, unique=False)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("content_hash", fields.CharField(null=True, max_length=64)),
                ("send_reason", fields.CharField(null=True, max_length=128)),
                ("last_error", fields.TextField(null=True, unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "delivery",
                "app": "models",
                "unique_together": (("campaign_id", "recipient_ref", "channel"),),
                "indexes": [Index(fields=["campaign_id", "status", "next_attempt_at"])],
                "pk_attr": "id",
                "table_description": "One notice to one recipient over one channel: the outbox row and its proof.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DeliveryAttempt",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "delivery",
                    fields.ForeignKeyField(
                        "models.Delivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="attempt_log",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.IntField()),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "outcome",
                    fields.CharEnumField(
                        description="ACCEPTED: accepted\nTRANSIENT: transient\nPERMANENT: permanent",
                        enum_type=AttemptOutcome,
                        max_length=16,
                    ),
                ),
                ("code", fields.IntField(null=True)),
                ("reply", fields.TextField(null=True, unique=False)),
            ],
            options={
                "table": "delivery_attempt",
                "app": "models",
                "unique_together": (("delivery_id", "number"),),
                "pk_attr": "id",
                "table_description": "Every try to hand a delivery to SMTP, with the server's answer.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Exposure",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="exposures",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Subject",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="exposures",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "categories",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "reasons",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "source",
                    fields.CharEnumField(
                        default=ExposureSource.HOLDING,
                        description="HOLDING: holding\nINCLUDE_LIST: include_list",
                        enum_type=ExposureSource,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "exposure",
                "app": "models",
                "unique_together": (("incident_id", "subject_id"),),
                "pk_attr": "id",
                "table_description": "One affected subject of one incident: the frozen affected list.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Holding",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Subject",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="holdings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("system", fields.CharField(max_length=128)),
                ("category", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "holding",
                "app": "models",
                "unique_together": (("subject_id", "system", "category"),),
                "indexes": [Index(fields=["system", "category", "subject_id"])],
                "pk_attr": "id",
                "table_description": "One system holding one category of one subject's data.",
            },
            bases=["Model"],
        ),
    ]
