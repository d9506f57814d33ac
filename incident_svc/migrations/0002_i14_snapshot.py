from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CampaignRecipient",
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
                        related_name="recipients",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("member_id", fields.BigIntField()),
                ("subject_id", fields.BigIntField(null=True)),
                ("account_id", fields.BigIntField(null=True)),
                ("recipient_ref", fields.CharField(max_length=128)),
                ("address", fields.CharField(max_length=320)),
                ("locale", fields.CharField(max_length=35)),
            ],
            options={
                "table": "campaign_recipient",
                "app": "models",
                "unique_together": (("campaign_id", "member_id"),),
                "pk_attr": "id",
                "table_description": "One recipient of a campaign's frozen audience (written at approval, set-based).",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Campaign",
            name="approval_digest",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="Campaign",
            name="approval_required",
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name="Campaign",
            name="approval_snapshot",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name="Campaign",
            name="approval_source",
            field=fields.CharField(default="", db_default="", max_length=200),
        ),
    ]
