from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_i18_obligations")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ObligationReminder",
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
                        related_name="obligation_reminders",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(max_length=96)),
                ("threshold", fields.CharField(max_length=16)),
                ("due_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("sent_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "obligation_reminder",
                "app": "models",
                "unique_together": (("incident_id", "key", "threshold"),),
                "pk_attr": "id",
                "table_description": "A reminder of one obligation at one threshold that went "
                "out, so that it goes out once",
            },
            bases=["Model"],
        ),
    ]
