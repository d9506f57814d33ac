from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0002_i14_snapshot")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CampaignSignature",
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
                        related_name="signatures",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("role", fields.CharField(max_length=16)),
                ("principal", fields.CharField(max_length=255)),
                ("text", fields.TextField(unique=False)),
                ("creation_sha256", fields.CharField(null=True, unique=True, max_length=64)),
                ("signature", fields.TextField(unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "campaign_signature",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An SSH signature of a campaign's creation or approval, kept to be checked again later.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Campaign",
            name="approver_identity",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name="Campaign",
            name="approver_principal",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name="Campaign",
            name="creator_identity",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name="Campaign",
            name="creator_principal",
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
