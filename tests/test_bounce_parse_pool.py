"""`bounces ingest` with the reports parsed in worker processes: the same answers as parsing
in the ingesting process, hostile bytes included, and the same database afterwards, on
SQLite and PostgreSQL (INCIDENT_SVC_TEST_DB)."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import signal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from incident_svc.cli.main import app
from incident_svc.domain import bounce_parse
from incident_svc.services.bounce.bounce_parse_pool import ParsePool
from tests.support import bounce_reports as reports
from tests.test_bounces import SECRET
from tests.test_bounces_cli import seeded, state

HOSTILE = [b"", b"\x00\xff not a message", b"Content-Type: multipart/report; boundary=x\n\n--x",
           b"From: a\n\n" + b"\xe2\x80\xae" * 500]  # fmt: skip


def _sample() -> list[bytes]:
    sent = reports.Sent("bounce+d1-0@bounces.example.com", "p@example.org", "<c1.d1.x@example>")
    shapes = [reports.dsn(sent), reports.qmail(sent), reports.arf(sent), reports.exchange(sent)]
    return [*shapes, *HOSTILE] * 3


def test_workers_parse_as_this_process_does() -> None:
    raws = _sample()

    async def main() -> list[Any]:
        pool = ParsePool(processes=2, parallel_from=0)
        try:
            running = pool.submit(raws)
            assert running is not None
            return await running
        finally:
            pool.close()

    assert asyncio.run(main()) == [bounce_parse.parse(raw) for raw in raws]


def test_a_small_folder_and_no_workers_parse_here() -> None:
    async def main() -> None:
        small = ParsePool(processes=2, parallel_from=100)
        assert small.submit(_sample()) is None  # 36 reports so far: not worth a process
        assert ParsePool(processes=0, parallel_from=0).submit(_sample()) is None

    asyncio.run(main())


def test_a_worker_that_dies_costs_only_speed() -> None:
    raws = _sample()

    async def main() -> list[Any]:
        pool = ParsePool(processes=1, parallel_from=0)
        try:
            first = pool.submit(raws[:1])
            assert first is not None
            await first
            assert pool._pool is not None
            for pid in list(pool._pool._processes):  # the worker is killed (out of memory, ...)
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            running = pool.submit(raws)
            assert running is not None
            result = await running
            assert pool.broken and pool.submit(raws) is None  # from now on: here
            return result
        finally:
            pool.close()

    assert asyncio.run(main()) == [bounce_parse.parse(raw) for raw in raws]


def test_ingest_with_workers_writes_what_ingest_without_them_writes(
    database_url: str, settings_for: Any, tmp_path: Path
) -> None:
    sent = seeded(database_url, settings_for)
    good = [shape(sent[a]) for a in sorted(sent) for shape in (reports.dsn, reports.arf)]
    maildir = mailbox.Maildir(tmp_path / "bounces", create=True)
    for raw in [*good, *HOSTILE[1:]]:
        maildir.add(raw)
    env = {
        "INCIDENT_SVC_DATABASE_URL": database_url,
        "INCIDENT_SVC_BOUNCES__DOMAIN": "bounces.example.com",
        "INCIDENT_SVC_BOUNCES__TOKEN_SECRET": SECRET,
        "INCIDENT_SVC_BOUNCES__BATCH_SIZE": "2",  # several batches in flight
        "INCIDENT_SVC_BOUNCES__PARSE_PROCESSES": "2",
        "INCIDENT_SVC_BOUNCES__PARSE_PARALLEL_FROM": "0",
        "INCIDENT_SVC_ACTOR": "carol",
    }
    args = ["bounces", "ingest", str(tmp_path / "bounces"), "--json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["reports"], summary["recorded"], summary["unreadable"]) == (11, 8, 3)
    assert summary["outcomes"] == {"bounced": 4, "delayed": 0, "complained": 4}
    after = state(database_url)
    again = CliRunner().invoke(app, args, env={**env, "INCIDENT_SVC_BOUNCES__PARSE_PROCESSES": "0"})
    assert again.exit_code == 0 and json.loads(again.stdout)["duplicate"] == 8
    assert state(database_url) == after
