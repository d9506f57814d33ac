"""Issue 19: matters (incident, policy change, disclosure) and policy versions; existing
incidents, campaigns and banners are given their matter here."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from incident_svc.domain.enums import MatterKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0004_relay_state")]

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
