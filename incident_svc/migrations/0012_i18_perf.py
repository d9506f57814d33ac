"""exposure.first_reached_at: each exposure's first reach, backfilled from the rows there.

The backfill is services/incident/reach.py's recompute, frozen here: per incident and
person, the earliest of their sent deliveries of the incident's subject-notice campaigns and
their personal banners not withdrawn, in one set-based UPDATE.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_FIRSTS = (
    "SELECT incident_id, subject_id, MIN(at) AS first_at FROM ("
    " SELECT c.incident_id AS incident_id, d.subject_id AS subject_id, d.sent_at AS at"
    " FROM delivery d JOIN campaign c ON c.id = d.campaign_id"
    " WHERE c.kind = 'subject_notice' AND d.status = 'sent' AND d.subject_id IS NOT NULL"
    " UNION ALL SELECT b.incident_id, b.subject_id, b.starts_at FROM banner b"
    " WHERE b.incident_id IS NOT NULL AND b.subject_id IS NOT NULL"
    " AND b.withdrawn_at IS NULL"
    ") x GROUP BY incident_id, subject_id"
)


class Migration(migrations.Migration):
    dependencies = [("models", "0011_i19_send")]

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
                f"UPDATE exposure SET first_reached_at = r.first_at FROM ({_FIRSTS}) r "
                "WHERE exposure.incident_id = r.incident_id "
                "AND exposure.subject_id = r.subject_id"
            ],
            reverse_sql=["UPDATE exposure SET first_reached_at = NULL"],
        ),
    ]
