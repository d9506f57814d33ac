from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from incident_svc.domain.enums import ExposureSource
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0012_i18_perf")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ExposureExpired",
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
                        related_name="expired_exposures",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("address_pseudonym", fields.CharField(max_length=70)),
                ("ref_pseudonym", fields.CharField(max_length=71)),
                ("jurisdiction", fields.CharField(max_length=6)),
                (
                    "categories",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "source",
                    fields.CharEnumField(
                        default=ExposureSource.HOLDING,
                        description="HOLDING: holding\nINCLUDE_LIST: include_list",
                        enum_type=ExposureSource,
                        max_length=16,
                    ),
                ),
                ("exposed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expired_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "exposure_expired",
                "app": "models",
                "indexes": [Index(fields=["incident_id"]), Index(fields=["address_pseudonym"])],
                "pk_attr": "id",
                "table_description": "An exposure past its retention period: who, as keyed pseudonyms (docs/retention.md).",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Subject",
            name="left_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
