"""exposure.first_reached_at: each exposure's first reach, backfilled from the rows there.

The backfill is services/obligations/reach.py's recompute, frozen here: the first sent
delivery of one of the incident's subject-notice campaigns, lowered to the first personal
banner not withdrawn.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_FIRST_SENT = (
    "SELECT MIN(d.sent_at) FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
    "WHERE d.subject_id = exposure.subject_id AND c.incident_id = exposure.incident_id "
    "AND c.kind = 'subject_notice' AND d.status = 'sent'"
)
_FIRST_BANNER = (
    "SELECT MIN(b.starts_at) FROM banner b WHERE b.incident_id = exposure.incident_id "
    "AND b.subject_id = exposure.subject_id AND b.withdrawn_at IS NULL"
)


class Migration(migrations.Migration):
    dependencies = [("models", "0010_i17_webhooks")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Exposure",
            name="first_reached_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="Exposure",
            index=Index(fields=["incident_id", "subject_id", "first_reached_at"]),
        ),
        ops.RunSQL(
            [
                f"UPDATE exposure SET first_reached_at = ({_FIRST_SENT}) "
                "WHERE subject_id IN (SELECT d.subject_id FROM delivery d "
                "WHERE d.status = 'sent' AND d.subject_id IS NOT NULL)",
                f"UPDATE exposure SET first_reached_at = ({_FIRST_BANNER}) "
                "WHERE subject_id IN (SELECT b.subject_id FROM banner b "
                "WHERE b.subject_id IS NOT NULL AND b.withdrawn_at IS NULL) "
                f"AND EXISTS ({_FIRST_BANNER}) "
                f"AND (first_reached_at IS NULL OR first_reached_at > ({_FIRST_BANNER}))",
            ],
            reverse_sql=["UPDATE exposure SET first_reached_at = NULL"],
        ),
    ]
