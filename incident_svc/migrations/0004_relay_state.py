from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0003_i14_identity")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RelayState",
            fields=[
                (
                    "relay",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=300),
                ),
                ("up", fields.BooleanField(default=True)),
                ("down_since", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "next_probe_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_error", fields.TextField(default="", unique=False)),
                ("alerted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "relay_state",
                "app": "models",
                "pk_attr": "relay",
                "table_description": "What the dispatchers last learnt about one SMTP relay, for other processes to read",
            },
            bases=["Model"],
        ),
    ]
