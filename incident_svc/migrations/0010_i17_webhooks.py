from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0009_i17_bounces")]

    initial = False

    operations = [
        ops.CreateModel(
            name="WebhookReceipt",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("provider", fields.CharField(max_length=16)),
                ("key", fields.CharField(max_length=64)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhook_receipt",
                "app": "models",
                "unique_together": (("provider", "key"),),
                "indexes": [Index(fields=["received_at"])],
                "pk_attr": "id",
                "table_description": "A provider webhook request already taken in, so that a replay of it is refused.",
            },
            bases=["Model"],
        ),
    ]
