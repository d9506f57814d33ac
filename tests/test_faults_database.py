"""Database faults during `campaign send --now`, injected for real: a TCP proxy between the
sender (a child process) and PostgreSQL cuts its connections or refuses new ones; SQLite
runs out of disk on a small tmpfs. Each run: nothing lost, nobody twice while the process
survives, no traceback, and the time it took to recover."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from tortoise import connections

from incident_svc import db
from incident_svc.domain.times import utcnow
from incident_svc.services.delivery import campaign_start
from tests.support.approval import OFF
from tests.support.databases import BACKEND
from tests.support.fault_proxy import fault_proxy
from tests.support.fault_runs import (
    KEY,
    assert_each_sent_once,
    assert_no_traceback,
    attempts_per_delivery,
    child_env,
    draft_campaign,
    notices,
    send_now,
    through,
)
from tests.support.people import address
from tests.support.smtpd import Stall, smtp_server

RECIPIENTS = 120
postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="the proxy sits before PostgreSQL")

# (what is cut, the client's bytes that trigger the cut, whether that chunk reaches the server)
CUTS = {
    "claim": ((b"SET status = 'sending', lease_owner",), False),
    "group commit": ((b"SET status = v.status", b"INSERT INTO delivery_attempt"), False),
    # the COMMIT reaches PostgreSQL and is carried out; its answer is lost with the connection
    "commit answer": ((b"SET status = v.status", b"COMMIT"), True),
    "lease renewal": ((b"SET lease_expires_at",), False),
}


@postgres_only
@pytest.mark.parametrize("where", list(CUTS))
async def test_connections_cut_mid_send_lose_nothing_and_send_nobody_twice(
    db_conn: str, tmp_path: Path, where: str
) -> None:
    campaign = await draft_campaign(RECIPIENTS)
    patterns, forward = CUTS[where]
    host, port = _pg_address(db_conn)
    async with smtp_server() as server, fault_proxy(host, port) as proxy:
        # slow answers keep batches in flight across lease renewals (every 0.4 s)
        for n in range(0, RECIPIENTS, 15):
            server.faults[address(n)] = [Stall(0.5)]
        proxy.cut_on(*patterns, forward=forward)
        env = child_env(
            through(db_conn, proxy.port),
            server.port,
            tmp_path,
            INCIDENT_SVC_DELIVERY__LEASE_SECONDS="1.2",
        )
        code, _, err, _ = await send_now(env, campaign.id)
    assert code == 0, err
    assert_no_traceback(err)
    assert not proxy.armed and proxy.fired == 1, f"the cut during the {where} never happened"
    assert "database fault during" in err
    recoveries = [float(x) for x in re.findall(r"database answers again: .* after ([\d.]+) s", err)]
    assert recoveries and max(recoveries) < 5, err  # a fresh connection at once, not a lease later
    await assert_each_sent_once(campaign.id, server, RECIPIENTS)
    assert set((await attempts_per_delivery(campaign.id)).values()) == {1}
    print(f"cut during the {where}: recovered in {max(recoveries):.1f} s, all sent once")


@postgres_only
async def test_database_refusing_for_ten_seconds_is_ridden_out(
    db_conn: str, tmp_path: Path
) -> None:
    campaign = await draft_campaign(RECIPIENTS)
    host, port = _pg_address(db_conn)
    async with smtp_server() as server, fault_proxy(host, port) as proxy:
        for n in range(RECIPIENTS):
            server.faults[address(n)] = [Stall(0.02)]
        env = child_env(through(db_conn, proxy.port), server.port, tmp_path)
        sending = asyncio.create_task(send_now(env, campaign.id))
        await _until(lambda: len(server.received) >= 30, 30)
        await proxy.refuse()
        await asyncio.sleep(10)
        await proxy.accept()
        back = time.monotonic()
        code, _, err, _ = await sending
        recovered = time.monotonic() - back
    assert code == 0, err
    assert_no_traceback(err)
    await assert_each_sent_once(campaign.id, server, RECIPIENTS)
    assert recovered < 10, f"{recovered:.1f} s from the database's return to the end"
    print(f"database refused for 10 s: the rest sent {recovered:.1f} s after it came back")


@postgres_only
async def test_past_the_tolerance_send_stops_with_one_line_and_continues_when_run_again(
    db_conn: str, tmp_path: Path
) -> None:
    campaign = await draft_campaign(RECIPIENTS)
    host, port = _pg_address(db_conn)
    async with smtp_server() as server, fault_proxy(host, port) as proxy:
        for n in range(RECIPIENTS):
            server.faults[address(n)] = [Stall(0.02)]
        env = child_env(
            through(db_conn, proxy.port),
            server.port,
            tmp_path,
            INCIDENT_SVC_DATABASE__FAULT_TOLERANCE_SECONDS="2",
            INCIDENT_SVC_DELIVERY__LEASE_SECONDS="1",
        )
        sending = asyncio.create_task(send_now(env, campaign.id))
        await _until(lambda: len(server.received) >= 30, 30)
        await proxy.refuse()
        code, out, err, _ = await sending
        assert code == 8, err
        assert out == ""
        assert_no_traceback(err)
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: the database failed during ")
        assert f"run `incident-svc campaign send {campaign.id} --now` again" in last
        await proxy.accept()
        code, _, err, _ = await send_now(env, campaign.id)
    assert code == 0, err
    assert_no_traceback(err)
    copies = notices(server)
    # the first process did not survive: what it had sent and not yet recorded went again,
    # at most what its two lanes had claimed (senders stop while a commit is stuck)
    assert len(copies) == RECIPIENTS and max(copies.values()) <= 2
    duplicates = sum(n - 1 for n in copies.values())
    assert duplicates <= 2 * 20, duplicates  # two batches of delivery.batch_size
    print(f"past the tolerance: {duplicates} sent again after the rerun")


SMALL_DISK = "32m"  # room for the database and its WAL once the filler is gone


@pytest.fixture
async def database_on_small_disk(
    migrated_template: str, tmp_path: Path
) -> AsyncIterator[tuple[str, Path]]:
    """A SQLite database on a small tmpfs (root only), open in this test."""
    if BACKEND != "sqlite":
        pytest.skip("the full disk is SQLite's")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this platform does not let us mount a tmpfs: {mounted.stderr.decode()}")
    try:
        shutil.copyfile(migrated_template, disk / "test.sqlite3")
        url = f"sqlite://{disk / 'test.sqlite3'}"
        await db.open_database(url)
        try:
            yield url, disk
        finally:
            await db.close_database()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.slow
async def test_sqlite_on_a_full_disk_waits_for_space_and_loses_nothing(
    database_on_small_disk: tuple[str, Path], tmp_path: Path
) -> None:
    url, disk = database_on_small_disk
    campaign = await draft_campaign(RECIPIENTS)
    await campaign_start.start(
        campaign_id=campaign.id, now=utcnow(), actor="alice", key=KEY, settings=OFF
    )
    await connections.get("default").execute_query("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = _fill(disk)
    told = tmp_path / "stderr"
    async with smtp_server() as server:
        env = child_env(url, server.port, tmp_path)
        with told.open("wb") as stderr:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "incident_svc", "campaign", "send", str(campaign.id),
                "--now", "--json", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
            try:
                # the child says so once it met the full disk (however long it took to start)
                await _until(lambda: b"database or disk is full" in told.read_bytes(), 60)
                await asyncio.sleep(1)
                assert child.returncode is None and not server.received  # nothing recorded
                filler.unlink()
                freed = time.monotonic()
                code = await child.wait()
                recovered = time.monotonic() - freed
            finally:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
    err = told.read_text()
    assert code == 0, err
    assert_no_traceback(err)
    # both lanes met the full disk: one line when it began, one when it was over
    assert err.count("database or disk is full") == 1, err
    assert err.count("database answers again") == 1, err
    await assert_each_sent_once(campaign.id, server, RECIPIENTS)
    assert recovered < 10
    print(f"full disk: sending done {recovered:.1f} s after space was freed")


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
    return filler


def _pg_address(database_url: str) -> tuple[str, int]:
    parsed = urlparse(database_url)
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


async def _until(condition: object, timeout: float) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
