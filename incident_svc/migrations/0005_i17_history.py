from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from incident_svc.domain.enums import AudienceRule, DeliveryOutcome, NoticeKind
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0004_relay_state")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Campaign",
            name="kind",
            field=fields.CharEnumField(
                description="SUBJECT_NOTICE: subject_notice\nACCOUNT_HOLDER_NOTICE: account_holder_notice\nBANNER: banner\nUPDATE_NOTICE: update_notice",
                enum_type=NoticeKind,
                max_length=32,
            ),
        ),
        ops.AddField(
            model_name="Campaign",
            name="audience",
            field=fields.CharEnumField(
                default=AudienceRule.ALL,
                db_default=AudienceRule.ALL,
                description="ALL: all\nNEW: new\nNOT_REACHED: not-reached\nTOLD: told",
                enum_type=AudienceRule,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Campaign",
            name="audience_groups",
            field=fields.JSONField(
                default=dict,
                db_default={},
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.AddField(
            model_name="Delivery",
            name="outcome",
            field=fields.CharEnumField(
                null=True,
                description="DELAYED: delayed\nCOMPLAINED: complained\nBOUNCED: bounced",
                enum_type=DeliveryOutcome,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Delivery",
            name="outcome_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="Delivery",
            index=Index(fields=["subject_id", "campaign_id", "status", "outcome"]),
        ),
        ops.AddIndex(
            model_name="Delivery",
            index=Index(fields=["account_id", "campaign_id", "status", "outcome"]),
        ),
    ]
