from tortoise import migrations
from tortoise.migrations import operations as ops
from incident_svc.domain.enums import DeliveryOutcome, ReportKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0008_i19_matters")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BounceReport",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("sha256", fields.CharField(unique=True, max_length=64)),
                (
                    "delivery",
                    fields.ForeignKeyField(
                        "models.Delivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reports",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DSN: dsn\nARF: arf\nDETECTED: detected",
                        enum_type=ReportKind,
                        max_length=16,
                    ),
                ),
                (
                    "outcome",
                    fields.CharEnumField(
                        description="DELAYED: delayed\nCOMPLAINED: complained\nBOUNCED: bounced",
                        enum_type=DeliveryOutcome,
                        max_length=16,
                    ),
                ),
                ("status", fields.CharField(null=True, max_length=16)),
                ("detail", fields.TextField(null=True, unique=False)),
                ("matched_by", fields.CharField(max_length=16)),
                ("source", fields.CharField(max_length=255)),
                ("content", fields.BinaryField()),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "bounce_report",
                "app": "models",
                "indexes": [Index(fields=["delivery_id"])],
                "pk_attr": "id",
                "table_description": "A delivery status notification or abuse report, kept whole as evidence on its delivery.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Delivery",
            name="substituted_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="Banner",
            index=Index(fields=["incident_id", "subject_id"]),
        ),
    ]
