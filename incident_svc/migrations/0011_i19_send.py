"""Issue 19, sending: a campaign belongs to a matter and names an incident only when its
matter is one (policy-change and disclosure campaigns have none); three new notice kinds.
Every campaign has its matter (0008 gave existing ones theirs; this makes sure again)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from incident_svc.domain.enums import NoticeKind
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0010_i17_webhooks")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Campaign",
            name="incident",
            field=fields.ForeignKeyField(
                "models.Incident",
                source_field="incident_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="campaigns",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.AlterField(
            model_name="Campaign",
            name="kind",
            field=fields.CharEnumField(
                description="SUBJECT_NOTICE: subject_notice\nACCOUNT_HOLDER_NOTICE: account_holder_notice\nBANNER: banner\nUPDATE_NOTICE: update_notice\nPOLICY_CHANGE_NOTICE: policy_change_notice\nPOLICY_HOLDER_NOTICE: policy_holder_notice\nDISCLOSURE_NOTICE: disclosure_notice",
                enum_type=NoticeKind,
                max_length=32,
            ),
        ),
        ops.RunSQL(
            [
                "INSERT INTO matter (kind, reference, title, incident_id, created_at) "
                "SELECT 'incident', i.ref, i.title, i.id, i.created_at FROM incident i "
                "WHERE NOT EXISTS (SELECT 1 FROM matter m WHERE m.incident_id = i.id)",
                "UPDATE campaign SET matter_id = "
                "(SELECT m.id FROM matter m WHERE m.incident_id = campaign.incident_id) "
                "WHERE matter_id IS NULL AND incident_id IS NOT NULL",
            ],
            reverse_sql=["SELECT 1"],
        ),
    ]
