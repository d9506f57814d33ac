"""Hostile report bytes through the whole ingestion (parse, map, record): never a traceback,
and nothing written unless a report maps to a delivery under a genuine token."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc.models import AuditEvent, BounceReport, Delivery, Subject
from incident_svc.services.bounce.bounces import ingest_report
from tests.support import bounce_reports as reports
from tests.support.smtpd import smtp_server
from tests.test_bounces import bounce_settings, sent_campaign, sent_messages

BOUNDED = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_SEEDED: dict[str, Any] = {}


async def _seed(db_conn: str, settings_for: Any) -> tuple[Any, reports.Sent]:
    if _SEEDED.get("url") != db_conn:
        async with smtp_server() as server:
            settings = bounce_settings(settings_for, db_conn, server)
            await sent_campaign(settings, server, subjects=2)
        sent = await sent_messages(server)
        _SEEDED.update(url=db_conn, settings=settings, sent=sent[sorted(sent)[0]])
    return _SEEDED["settings"], _SEEDED["sent"]


async def _state() -> tuple[Any, ...]:
    return (
        await BounceReport.all().count(),
        await AuditEvent.all().count(),
        await Delivery.all().order_by("id").values_list("outcome", flat=True),
        await Subject.all().order_by("id").values_list("email_status", flat=True),
    )


@BOUNDED
@given(raw=st.binary(max_size=400))
@example(raw=b"")
@example(raw=b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\n")
async def test_garbage_is_refused_with_one_line_and_nothing_written(
    db_conn: str, settings_for: Any, raw: bytes
) -> None:
    settings, _ = await _seed(db_conn, settings_for)
    before = await _state()
    result = await ingest_report(raw, source="fuzz", settings=settings)
    assert result.status in ("unreadable", "unmatched", "refused")
    assert result.reason and "\n" not in result.reason
    assert await _state() == before


@BOUNDED
@given(
    at=st.integers(min_value=0, max_value=3000),
    junk=st.binary(min_size=1, max_size=30),
    which=st.sampled_from(["dsn", "arf", "exim", "gmail"]),
)
async def test_damaged_reports_are_recorded_whole_or_not_at_all(
    db_conn: str, settings_for: Any, at: int, junk: bytes, which: str
) -> None:
    settings, sent = await _seed(db_conn, settings_for)
    raw = getattr(reports, which)(sent)
    damaged = raw[:at] + junk + raw[at + len(junk) :]
    before = await _state()
    result = await ingest_report(damaged, source="fuzz", settings=settings)
    after = await _state()
    if result.status == "recorded":
        assert after[0] == before[0] + 1 and after[1] == before[1] + 1
        stored = await BounceReport.get(sha256=result.sha256)
        assert stored.content == damaged
    else:
        assert result.status in ("unreadable", "unmatched", "refused", "duplicate")
        assert after == before
