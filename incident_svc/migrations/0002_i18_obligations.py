from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="IncidentFact",
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
                        related_name="facts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=48)),
                ("at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("value", fields.BooleanField(null=True)),
                ("set_by", fields.CharField(max_length=128)),
                ("set_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("reason", fields.TextField(unique=False)),
            ],
            options={
                "table": "incident_fact",
                "app": "models",
                "unique_together": (("incident_id", "name"),),
                "pk_attr": "id",
                "table_description": "One fact the notification rules test, as the operator established it (docs/obligations.md).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ObligationRecord",
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
                        related_name="obligation_records",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("key", fields.CharField(max_length=96)),
                ("kind", fields.CharField(max_length=16)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("reference", fields.CharField(null=True, max_length=256)),
                ("reason", fields.TextField(null=True, unique=False)),
                ("late_reason", fields.TextField(null=True, unique=False)),
                ("evidence_name", fields.CharField(null=True, max_length=256)),
                ("evidence_sha256", fields.CharField(null=True, max_length=64)),
                ("evidence_size", fields.BigIntField(null=True)),
                ("recorded_by", fields.CharField(max_length=128)),
                ("recorded_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("retain_until", fields.DateField(null=True)),
            ],
            options={
                "table": "obligation_record",
                "app": "models",
                "unique_together": (("incident_id", "key"),),
                "pk_attr": "id",
                "table_description": "An obligation recorded as met (with its reference and evidence), or a decision not to",
            },
            bases=["Model"],
        ),
    ]
