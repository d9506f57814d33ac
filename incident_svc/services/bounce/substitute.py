"""Substitute notice: a personal banner for everyone an email notice did not reach.

"Not reached" is, per incident: an affected person whose address is marked bounced, or who
has a delivery of one of the incident's campaigns that bounced after acceptance or failed
(refused by the relay, out of attempts). Each gets one personal banner (the targeted feed:
only the website's backend, with a token, sees it) carrying the incident's banner notice, and
their deliveries are marked ``substituted_at``. Everything is set-based: one
``INSERT ... SELECT`` of the banners and one ``UPDATE`` of the deliveries per incident, in one
transaction with one audit event, however many people.
"""

from __future__ import annotations

import json
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.db import dialect, write_transaction
from incident_svc.domain.times import utcnow
from incident_svc.models import Incident
from incident_svc.rawsql import placeholders, query
from incident_svc.services.auditlog import audit
from incident_svc.services.incident import reach
from incident_svc.services.website import banners
from incident_svc.services.website.banners import Texts, TextSource

# names the advisory lock under which personal banners are created (PostgreSQL)
_PG_LOCK = 0x1AC1B0CE
_UNREACHED = """
SELECT d.subject_id FROM delivery d JOIN campaign c ON c.id = d.campaign_id
WHERE c.incident_id = e.incident_id AND d.subject_id IS NOT NULL
  AND (d.outcome = 'bounced' OR d.status = 'failed')
UNION SELECT s.id FROM subject s WHERE s.email_status = 'bounced'
"""
_PENDING = f"""
SELECT e.incident_id AS incident_id, e.subject_id AS subject_id FROM exposure e
WHERE e.subject_id IN ({_UNREACHED})
  AND NOT EXISTS (SELECT 1 FROM banner b
                  WHERE b.incident_id = e.incident_id AND b.subject_id = e.subject_id)
"""
_INSERT = f"""
INSERT INTO banner (incident_id, matter_id, audience, subject_id, severity, texts,
                    content_hashes, starts_at, serve_count, created_by, created_at, updated_at)
SELECT e.incident_id, (SELECT m.id FROM matter m WHERE m.incident_id = e.incident_id),
       'affected_subjects', e.subject_id, 'warning', {{json}}, {{json}},
       ?, 0, ?, ?, ?
FROM ({_PENDING}) e WHERE e.incident_id = ?
ORDER BY e.subject_id
RETURNING id
"""
_MARK = """
UPDATE delivery SET substituted_at = ?, updated_at = ?
WHERE substituted_at IS NULL AND subject_id IS NOT NULL
  AND (outcome = 'bounced' OR status = 'failed')
  AND campaign_id IN (SELECT c.id FROM campaign c WHERE c.incident_id = ?)
  AND subject_id IN (SELECT b.subject_id FROM banner b
                     WHERE b.incident_id = ? AND b.subject_id IS NOT NULL)
"""


async def publish(
    *,
    settings: Settings,
    key: bytes | None,
    texts: TextSource | None = None,
    actor: str = "feed",
) -> list[int]:
    """Switch on the personal banners still missing; their ids (none: nothing to do)."""
    conn = connections.get("default")
    pending = await _incidents(conn)
    if not pending:
        return []
    source = texts or banners.notices_text_source()
    rendered: dict[int, Texts] = {}
    for incident in await Incident.filter(id__in=pending).order_by("id"):
        rendered[incident.id] = await banners.render_texts(incident, source, settings)
    refs = dict(await Incident.filter(id__in=pending).values_list("id", "ref"))
    created: list[int] = []
    async with write_transaction() as conn:
        # several service processes may look at once: decide again under one lock
        if dialect(conn) == "postgres":
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK])
        for incident_id, texts_now in rendered.items():
            hashes = {loc: source.content_hash(t) for loc, t in texts_now.items()}
            ids = await _insert(conn, incident_id, texts_now, hashes, actor)
            marked = await _mark(conn, incident_id)
            if ids or marked:
                await audit.record(
                    conn,
                    actor=actor,
                    action="banner.personal_published",
                    target_type="incident",
                    target_id=str(refs[incident_id]),
                    details={
                        "incident": str(refs[incident_id]),
                        "banners": len(ids),
                        "first_banner": ids[0] if ids else None,
                        "last_banner": ids[-1] if ids else None,
                        "deliveries_substituted": marked,
                        "reason": "substitute notice: email bounced or never reached",
                    },
                    key=key,
                )
            created += ids
    return created


async def _incidents(conn: BaseDBAsyncClient) -> list[int]:
    """Incidents with someone unreached and no banner yet, or a delivery not yet marked."""
    rows = await query(conn, f"SELECT DISTINCT incident_id FROM ({_PENDING}) p", [])
    found = {int(r["incident_id"]) for r in rows}
    unmarked = await query(
        conn,
        "SELECT DISTINCT c.incident_id FROM delivery d JOIN campaign c ON c.id = d.campaign_id "
        "JOIN banner b ON b.incident_id = c.incident_id AND b.subject_id = d.subject_id "
        "WHERE d.substituted_at IS NULL AND (d.outcome = 'bounced' OR d.status = 'failed')",
        [],
    )
    return sorted(found | {int(r["incident_id"]) for r in unmarked})


async def _insert(
    conn: BaseDBAsyncClient,
    incident_id: int,
    texts: Texts,
    hashes: dict[str, str],
    actor: str,
) -> list[int]:
    json_cast = "CAST(? AS jsonb)" if dialect(conn) == "postgres" else "?"
    now = utcnow()
    values: list[Any] = [json.dumps(texts, ensure_ascii=False), json.dumps(hashes)]
    values += [now, actor, now, now, incident_id]
    rows = await query(conn, _INSERT.format(json=json_cast), values)
    ids = sorted(int(r["id"]) for r in rows)
    if ids:  # substitute notice reaches them (services/incident/reach)
        await reach.banners_published(
            conn, incident_id=incident_id, first_id=ids[0], last_id=ids[-1], at=now
        )
    return ids


async def _mark(conn: BaseDBAsyncClient, incident_id: int) -> int:
    now = utcnow()
    sql = placeholders(_MARK, conn)
    count, _ = await conn.execute_query(sql, [now, now, incident_id, incident_id])
    return int(count)
