"""Issue 19: matters (incident, policy change, disclosure), policy versions and disclosures; existing
incidents, campaigns and banners are given their matter here."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from incident_svc.domain.enums import MatterKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0007_i18_reports")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Matter",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="INCIDENT: incident\nPOLICY_CHANGE: policy_change\nDISCLOSURE: disclosure",
                        enum_type=MatterKind,
                        max_length=32,
                    ),
                ),
                ("reference", fields.CharField(unique=True, max_length=128)),
                ("title", fields.CharField(max_length=256)),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        null=True,
                        unique=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="matters",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "matter",
                "app": "models",
                "pk_attr": "id",
                "table_description": "What notices are about: an incident, a policy change, or a disclosure to an authority.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PolicyVersion",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "matter",
                    fields.ForeignKeyField(
                        "models.Matter",
                        source_field="matter_id",
                        unique=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="policy_versions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("version", fields.CharField(unique=True, max_length=64)),
                ("document_name", fields.CharField(max_length=255)),
                ("document_sha256", fields.CharField(max_length=64)),
                ("document_url", fields.CharField(null=True, max_length=2048)),
                (
                    "summaries",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("material", fields.BooleanField()),
                ("published_by", fields.CharField(max_length=128)),
                ("published_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("banner_id", fields.BigIntField(null=True)),
            ],
            options={
                "table": "policy_version",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One published version of the privacy policy (its matter is kind policy_change).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Disclosure",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "matter",
                    fields.ForeignKeyField(
                        "models.Matter",
                        source_field="matter_id",
                        unique=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="disclosures",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("ref", fields.CharField(unique=True, max_length=32)),
                ("authority", fields.CharField(max_length=256)),
                ("legal_basis", fields.TextField(unique=False)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "categories",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "withheld",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("subject_count", fields.IntField(default=0)),
                (
                    "non_disclosure_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("non_disclosure_indefinite", fields.BooleanField(default=False)),
                ("status", fields.CharField(default="held", max_length=16)),
                (
                    "next_review_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("recorded_by", fields.CharField(max_length=128)),
                ("recorder_identity", fields.CharField(max_length=255)),
                ("recorder_principal", fields.CharField(null=True, max_length=255)),
                ("release_approved_by", fields.CharField(null=True, max_length=128)),
                ("release_approver_identity", fields.CharField(null=True, max_length=255)),
                ("release_approver_principal", fields.CharField(null=True, max_length=255)),
                (
                    "release_approved_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "released_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "disclosure",
                "app": "models",
                "indexes": [Index(fields=["status", "non_disclosure_until"])],
                "pk_attr": "id",
                "table_description": "Data disclosed to an authority, and the notice its people are owed once the law allows.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DisclosureNotice",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "disclosure",
                    fields.ForeignKeyField(
                        "models.Disclosure",
                        source_field="disclosure_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notices",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "subject",
                    fields.ForeignKeyField(
                        "models.Subject",
                        source_field="subject_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="disclosure_notices",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("status", fields.CharField(default="held", max_length=16)),
                (
                    "released_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "disclosure_notice",
                "app": "models",
                "unique_together": (("disclosure_id", "subject_id"),),
                "pk_attr": "id",
                "table_description": "One person's notice of a disclosure: created with it, held, released with it.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Banner",
            name="matter",
            field=fields.ForeignKeyField(
                "models.Matter",
                source_field="matter_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="banners",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.AddField(
            model_name="Campaign",
            name="matter",
            field=fields.ForeignKeyField(
                "models.Matter",
                source_field="matter_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="campaigns",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        # every existing incident gets its matter, and its campaigns and banners point at it
        ops.RunSQL(
            [
                "INSERT INTO matter (kind, reference, title, incident_id, created_at) "
                "SELECT 'incident', ref, title, id, created_at FROM incident",
                "UPDATE campaign SET matter_id = "
                "(SELECT m.id FROM matter m WHERE m.incident_id = campaign.incident_id)",
                "UPDATE banner SET matter_id = "
                "(SELECT m.id FROM matter m WHERE m.incident_id = banner.incident_id) "
                "WHERE incident_id IS NOT NULL",
            ],
            reverse_sql=[
                "UPDATE banner SET matter_id = NULL",
                "UPDATE campaign SET matter_id = NULL",
                "DELETE FROM matter",
            ],
        ),
    ]
