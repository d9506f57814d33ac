"""exposure.jurisdiction: each exposure keeps its person's residence, kept by triggers.

The obligations' census then reads the exposures alone: one ordered index-only range scan of
``(incident_id, jurisdiction, first_reached_at)``, no join with subject and no sort for the
``GROUP BY`` (docs/obligations.md, "Residence on the exposure"). The column is filled from
the subjects in one set-based UPDATE, and kept right by database triggers on every path:

- an exposure inserted without a residence (the column's default ``''``: ``Exposure.create``
  in tests, ``bulk_create`` of copied rows) takes its subject's; the set-based INSERT of
  services/incident/affected.py writes it itself, so the trigger's ``WHEN`` skips those rows;
- an exposure whose residence is written back as ``''`` (a model saved on SQLite, where the
  INSERT's RETURNING does not see an AFTER trigger's change) takes it again;
- a subject whose residence changes (an inventory re-import resolving a bare ``US`` to
  ``US-CA``) moves their exposures. The exposures have no index on ``subject_id`` alone, so
  the trigger probes the unique ``(incident_id, subject_id)`` once per incident.

The covering index ``(incident_id, subject_id, first_reached_at)`` of migration 0012 served
the census only: the reach updates of services/incident/reach.py use the unique index.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_SUBJECTS = (
    "UPDATE exposure SET jurisdiction = s.jurisdiction FROM subject s "
    "WHERE s.id = exposure.subject_id"
)
_OF_SUBJECT = "COALESCE((SELECT s.jurisdiction FROM subject s WHERE s.id = NEW.subject_id), '')"
_MOVE_WHERE = "incident_id {incidents} AND subject_id = NEW.id"

_SQLITE = [
    "CREATE TRIGGER exposure_residence_insert AFTER INSERT ON exposure "
    "FOR EACH ROW WHEN NEW.jurisdiction = '' BEGIN "
    f"UPDATE exposure SET jurisdiction = {_OF_SUBJECT} WHERE id = NEW.id; END",
    "CREATE TRIGGER exposure_residence_update AFTER UPDATE OF jurisdiction ON exposure "
    "FOR EACH ROW WHEN NEW.jurisdiction = '' BEGIN "
    f"UPDATE exposure SET jurisdiction = {_OF_SUBJECT} WHERE id = NEW.id; END",
    "CREATE TRIGGER subject_residence AFTER UPDATE OF jurisdiction ON subject "
    "FOR EACH ROW WHEN OLD.jurisdiction IS NOT NEW.jurisdiction BEGIN "
    "UPDATE exposure SET jurisdiction = NEW.jurisdiction WHERE "
    + _MOVE_WHERE.format(incidents="IN (SELECT id FROM incident)")
    + "; END",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS subject_residence",
    "DROP TRIGGER IF EXISTS exposure_residence_update",
    "DROP TRIGGER IF EXISTS exposure_residence_insert",
]

_POSTGRES = [
    "CREATE FUNCTION exposure_residence() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"NEW.jurisdiction := {_OF_SUBJECT}; RETURN NEW; END $$",
    "CREATE TRIGGER exposure_residence BEFORE INSERT OR UPDATE OF jurisdiction ON exposure "
    "FOR EACH ROW WHEN (NEW.jurisdiction = '') EXECUTE FUNCTION exposure_residence()",
    "CREATE FUNCTION subject_residence() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE exposure SET jurisdiction = NEW.jurisdiction WHERE "
    + _MOVE_WHERE.format(incidents="= ANY (ARRAY(SELECT id FROM incident))")
    + "; RETURN NULL; END $$",
    "CREATE TRIGGER subject_residence AFTER UPDATE OF jurisdiction ON subject "
    "FOR EACH ROW WHEN (OLD.jurisdiction IS DISTINCT FROM NEW.jurisdiction) "
    "EXECUTE FUNCTION subject_residence()",
]
_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS subject_residence ON subject",
    "DROP FUNCTION IF EXISTS subject_residence()",
    "DROP TRIGGER IF EXISTS exposure_residence ON exposure",
    "DROP FUNCTION IF EXISTS exposure_residence()",
]


async def _run(schema_editor: Any, by_dialect: dict[str, list[str]]) -> None:
    # one statement at a time, whole: SQLite's schema editor would split a trigger's body at ";"
    for statement in by_dialect[schema_editor.DIALECT]:
        if schema_editor.collect_sql:
            schema_editor.collected_sql.append(statement)
        else:
            await schema_editor.client.execute_query(statement)


async def _triggers(apps: Any, schema_editor: Any) -> None:
    await _run(schema_editor, {"sqlite": _SQLITE, "postgres": _POSTGRES})


async def _drop_triggers(apps: Any, schema_editor: Any) -> None:
    await _run(schema_editor, {"sqlite": _SQLITE_DROP, "postgres": _POSTGRES_DROP})


class Migration(migrations.Migration):
    dependencies = [("models", "0013_i20_retention")]

    initial = False

    # the triggers come last: on SQLite, AddField and RemoveField rebuild the table (a copy
    # under a new name), which would drop triggers made before them
    operations = [
        ops.RemoveIndex(
            model_name="Exposure",
            name=None,
            fields=["incident_id", "subject_id", "first_reached_at"],
        ),
        ops.AddField(
            model_name="Exposure",
            name="jurisdiction",
            field=fields.CharField(db_default="", max_length=6),
        ),
        ops.RunSQL([_SUBJECTS], reverse_sql=ops.RunSQL.noop),  # the column goes on the way down
        ops.AddIndex(
            model_name="Exposure",
            index=Index(fields=["incident_id", "jurisdiction", "first_reached_at"]),
        ),
        ops.RunPython(_triggers, reverse_code=_drop_triggers),
    ]
