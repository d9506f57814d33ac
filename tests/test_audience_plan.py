"""The audience rules are index probes: SQLite's plan of each rule's live audience reads
``delivery`` only through the index ``(subject_id | account_id, campaign_id, status, outcome)``."""

from __future__ import annotations

import pytest
from tortoise import connections

from incident_svc.domain.enums import AudienceRule, NoticeKind
from incident_svc.services.delivery import approved_audience
from incident_svc.services.delivery.audience_rules import group_counts_sql
from tests.support.databases import BACKEND
from tests.support.people import make_incident

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")


@pytest.mark.parametrize("rule", [AudienceRule.NEW, AudienceRule.NOT_REACHED, AudienceRule.TOLD])
@pytest.mark.parametrize("kind", [NoticeKind.SUBJECT_NOTICE, NoticeKind.ACCOUNT_HOLDER_NOTICE])
async def test_rules_probe_the_delivery_index(
    db_conn: str, rule: AudienceRule, kind: NoticeKind
) -> None:
    incident = await make_incident(3)
    sql, _, values = approved_audience._live(kind, rule, incident_id=incident.id, campaign_id=0)
    conn = connections.get("default")
    plan = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + sql.format(after=""), values)
    details = [str(row["detail"]) for row in plan]
    column = "subject_id" if kind is NoticeKind.SUBJECT_NOTICE else "account_id"
    [index] = await conn.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'delivery' "
        f"AND sql LIKE '%{column}%campaign_id%status%outcome%'"
    )
    on_delivery = [d for d in details if d.startswith(("SEARCH d ", "SCAN d "))]
    assert on_delivery, details
    assert all(f"USING COVERING INDEX {index['name']} ({column}=?)" in d for d in on_delivery)


@pytest.mark.parametrize("kind", [NoticeKind.SUBJECT_NOTICE, NoticeKind.ACCOUNT_HOLDER_NOTICE])
async def test_group_counts_probe_the_delivery_index(db_conn: str, kind: NoticeKind) -> None:
    incident = await make_incident(3)
    conn = connections.get("default")
    values = [incident.id] * 3
    plan = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + group_counts_sql(kind), values)
    details = [str(row["detail"]) for row in plan]
    on_delivery = [d for d in details if d.startswith(("SEARCH d ", "SCAN d "))]
    assert on_delivery and all("USING COVERING INDEX" in d for d in on_delivery), details
