"""PostgreSQL: leave room on the pages of ``delivery`` and ``campaign_recipient``
(``fillfactor`` 80), so that an update that changes no indexed column (retention's
pseudonyms, a lease's renewal) can write the new row version on the row's own page: a HOT
update, with no new index entry. A no-op on SQLite, which has no such setting.

Why 80 (docs/retention.md, "Room on the pages"): each delivery row is written three times
after its insert: claimed and sent by dispatch (it grows by the Message-ID, the relay's reply
and the content hash; the status changes, so those are not HOT, but with room the new version
can stay on the same page), and once by retention, which writes a 70-character pseudonym over
the address and over the address the reply repeats. At 100 every such update moves the row
to another page with an entry in each of delivery's five indexes (3 HOT updates in 1,000,000
retention updates, BENCHMARKS.md). At 80 a page keeps 1.6 kB free: measured, 23% of
retention's updates are HOT; 70 gave 30% and 50 gave 79%, for a table 1.1x and 1.6x the
size of one at 80. 80 is the usual value for tables updated after insert; it costs a quarter
more pages, which a table whose every row is updated (and so moved) at 100 takes up anyway.
``campaign_recipient`` (written once at approval, its address updated by retention alone, not
indexed either) gets the same, for the same pseudonyms.

``ALTER TABLE ... SET (fillfactor)`` changes no page that exists: it applies to the pages
written from now on (inserts, and the rows that updates move). ``VACUUM FULL delivery`` (an
exclusive lock for as long as it rewrites the table, so in a maintenance window) repacks the
existing rows at the new fill factor; the migration does not run it.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

FILLFACTOR = 80
TABLES = ("delivery", "campaign_recipient")


async def _run(schema_editor: Any, statements: list[str]) -> None:
    client = schema_editor.client
    if str(client.capabilities.dialect) != "postgres":
        return  # SQLite has no fill factor
    for sql in statements:
        await client.execute_script(sql)


async def _forward(apps: Any, schema_editor: Any) -> None:
    statements = [f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})" for table in TABLES]
    await _run(schema_editor, statements)


async def _backward(apps: Any, schema_editor: Any) -> None:
    await _run(schema_editor, [f"ALTER TABLE {table} RESET (fillfactor)" for table in TABLES])


class Migration(migrations.Migration):
    dependencies = [("models", "0014_i18_residence")]

    initial = False

    operations = [ops.RunPython(_forward, _backward)]
