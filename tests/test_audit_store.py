"""The audit log in a real database: one linear chain under concurrency; tampering detected."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest
from tortoise import connections
from tortoise.exceptions import ValidationError

from incident_svc import db
from incident_svc.models import AuditEvent
from incident_svc.services.auditlog import audit

KEY = b"test-hmac-key"


async def append(n: int, actor: str = "alice", key: bytes | None = None) -> None:
    for i in range(n):
        async with db.write_transaction() as conn:
            await audit.record(
                conn,
                actor=actor,
                action="test.append",
                target_type="test",
                target_id=str(i),
                details={"i": i, "incident": "INC-2026-0001" if i % 2 else "INC-2026-0002"},
                key=key,
            )


async def test_record_and_verify(db_conn: str) -> None:
    await append(5)
    verdict = await audit.verify(key=None)
    assert verdict.intact and verdict.checked == 5
    assert [e.seq for e in await audit.events()] == [1, 2, 3, 4, 5]
    assert len(await audit.events(incident_ref="INC-2026-0001")) == 2


async def test_event_rolls_back_with_its_transaction(db_conn: str) -> None:
    class Boom(Exception):
        pass

    try:
        async with db.write_transaction() as conn:
            await audit.record(conn, actor="a", action="x", target_type="t", target_id="1")
            raise Boom
    except Boom:
        pass
    assert await AuditEvent.all().count() == 0


async def test_concurrent_tasks_keep_one_chain(db_conn: str) -> None:
    await asyncio.gather(*(append(10, actor=f"task{t}") for t in range(8)))
    verdict = await audit.verify(key=None)
    assert verdict.intact and verdict.checked == 80


def _appender_script(url: str, n: int, actor: str) -> str:
    return textwrap.dedent(
        f"""
        import asyncio
        from incident_svc import db
        from incident_svc.services.auditlog import audit

        async def main():
            await db.open_database({url!r})
            try:
                for i in range({n}):
                    async with db.write_transaction() as conn:
                        await audit.record(conn, actor={actor!r}, action="proc.append",
                                           target_type="test", target_id=str(i), key={KEY!r})
            finally:
                await db.close_database()

        asyncio.run(main())
        """
    )


async def test_two_processes_keep_one_chain(database_url: str) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _appender_script(database_url, 60, f"proc{p}")
        )
        for p in range(2)
    ]
    codes = [await proc.wait() for proc in procs]
    assert codes == [0, 0]
    await db.open_database(database_url)
    try:
        verdict = await audit.verify(key=KEY)
        assert verdict.intact and verdict.checked == 120
        actors = {e.actor for e in await audit.events()}
        assert actors == {"proc0", "proc1"}
    finally:
        await db.close_database()


async def _sql(statement: str, *params: object) -> None:
    conn = connections.get("default")
    if db.dialect() == "postgres":
        for i in range(len(params)):
            statement = statement.replace("?", f"${i + 1}", 1)
    await conn.execute_query(statement, list(params))


async def test_tampering_in_the_table_is_detected(db_conn: str) -> None:
    await append(10)
    await _sql("UPDATE audit_event SET actor = ? WHERE seq = ?", "mallory", 4)
    verdict = await audit.verify(key=None)
    assert not verdict.intact and verdict.first_bad_seq == 4


async def test_deleted_row_is_detected(db_conn: str) -> None:
    await append(10)
    await _sql("DELETE FROM audit_event WHERE seq = ?", 7)
    verdict = await audit.verify(key=None)
    assert not verdict.intact and verdict.first_bad_seq == 8


async def test_hmac_chain_verifies_only_with_its_key(db_conn: str) -> None:
    await append(3, key=KEY)
    assert (await audit.verify(key=KEY)).intact
    assert (await audit.verify(key=None)).first_bad_seq == 1


async def test_export_writes_every_event(db_conn: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from incident_svc.domain.audit_chain import Link, verify_chain

    await append(4, key=KEY)
    out = tmp_path / "audit.jsonl"
    assert await audit.export(out) == 4
    links = [Link(**json.loads(line)) for line in out.read_text().splitlines()]
    assert verify_chain(links, KEY).intact


async def test_a_value_longer_than_its_column_is_refused_and_nothing_is_appended(
    db_conn: str,
) -> None:
    """The append is raw SQL: SQLite would store an over-long actor, so the length is checked."""
    await append(1)
    with pytest.raises(ValidationError, match="actor"):
        await append(1, actor="a" * 129)
    await append(1, actor="a" * 128)
    assert [e.actor for e in await AuditEvent.all().order_by("seq")] == ["alice", "a" * 128]
    assert (await audit.verify(key=None)).intact
