"""Which database errors pass (db_faults.fault_reason), and ride_out through real ones: a
SQLite database locked by another connection, a PostgreSQL port that refuses."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.db_faults import FaultNotice, fault_reason, ride_out
from incident_svc.errors import DatabaseUnavailableError, ValidationError


def locked_database(path: Path) -> sqlite3.Connection:
    """A database another connection holds an exclusive lock on (until it commits)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def write(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        return 1
    finally:
        conn.close()


async def test_a_locked_sqlite_database_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder = locked_database(path)
    tries = 0

    async def operation() -> int:
        nonlocal tries
        tries += 1
        return write(path)

    asyncio.get_running_loop().call_later(0.3, holder.commit)
    heard: list[str] = []
    began = time.monotonic()
    assert await ride_out(operation, what="a test write", tolerance=5, notify=heard.append) == 1
    assert 0.3 <= time.monotonic() - began < 2.5
    assert tries > 1
    assert heard[0].startswith("database fault during a test write (SQLite: database is locked)")
    assert heard[-1].startswith("database answers again: a test write done after ")
    assert len(heard) == 2  # one line when it starts, one when it is over


async def test_lanes_meeting_one_fault_say_so_once(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder = locked_database(path)
    heard: list[str] = []
    notice = FaultNotice(heard.append)  # what one worker's lanes share

    def lane(what: str, tolerance: float) -> asyncio.Task[int]:
        return asyncio.create_task(
            ride_out(
                lambda: asyncio.sleep(0, write(path)),
                what=what,
                tolerance=tolerance,
                notice=notice,
            )
        )

    quitter = lane("a renewal", 0.1)  # gives up while the others still ride it out
    first, second = lane("a claim", 5), lane("a group commit", 5)
    with pytest.raises(DatabaseUnavailableError):
        await quitter
    asyncio.get_running_loop().call_later(0.3, holder.commit)
    assert await asyncio.gather(first, second) == [1, 1]
    assert len(heard) == 2, heard
    assert heard[0].startswith("database fault during a renewal (SQLite: database is locked)")
    assert heard[1].startswith("database answers again: ")
    # a fault that comes later is a new one, told again
    holder = locked_database(path)
    asyncio.get_running_loop().call_later(0.2, holder.commit)
    assert await lane("a claim", 5) == 1
    assert len(heard) == 4 and heard[2].startswith("database fault during a claim")


async def test_past_the_tolerance_one_error_with_exit_code_8(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder = locked_database(path)
    try:
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailableError) as caught:
            await ride_out(lambda: asyncio.sleep(0, write(path)), what="a claim", tolerance=0.4)
        assert 0.4 <= time.monotonic() - began < 2
    finally:
        holder.rollback()
    error = caught.value
    assert error.exit_code == 8
    assert str(error) == (
        "the database failed during a claim for 0.4 s (SQLite: database is locked)"
    )
    assert error.__cause__ is None and "\n" not in str(error)


async def test_other_errors_go_up_at_once(tmp_path: Path) -> None:
    tries = 0

    async def operation() -> None:
        nonlocal tries
        tries += 1
        sqlite3.connect(tmp_path / "x.sqlite3").execute("SELECT * FROM missing")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await ride_out(operation, what="a read", tolerance=5)
    assert tries == 1


async def test_a_refused_postgres_port_is_a_fault() -> None:
    with socket_closed() as port:
        try:
            await asyncpg.connect(host="127.0.0.1", port=port, user="x", timeout=2)
        except OSError as exc:
            reason = fault_reason(exc)
        else:  # pragma: no cover
            raise AssertionError("nothing listens there")
    assert reason is not None and reason.startswith("ConnectionRefusedError")


def test_what_passes_and_what_does_not() -> None:
    assert fault_reason(asyncpg.exceptions.SerializationError("could not serialize")) == (
        "SerializationError: could not serialize"
    )
    assert fault_reason(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert fault_reason(asyncpg.exceptions.CannotConnectNowError("the database is starting up"))
    assert fault_reason(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None
    assert fault_reason(sqlite3.OperationalError("database or disk is full")) == (
        "SQLite: database or disk is full"
    )
    assert fault_reason(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert fault_reason(ValidationError("bad")) is None
    # found behind what the ORM made of it (a failed rollback on the dead connection)
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise RuntimeError("cannot roll back") from None
    except RuntimeError as outer:
        assert fault_reason(outer) == "ConnectionResetError: [Errno 104] Connection reset by peer"
    # a final DatabaseUnavailableError is ours: not retried again by an outer ride_out
    final = DatabaseUnavailableError("gone")
    final.__context__ = ConnectionResetError(104, "reset")
    assert fault_reason(final) is None


@given(
    before=st.text(),
    after=st.text(),
    phrase=st.sampled_from(["", "database is locked", "disk I/O error", "closed"]),
    errno=st.none() | st.integers(-5, 200),
)
def test_any_message_gives_at_most_one_line(
    before: str, after: str, phrase: str, errno: int | None
) -> None:
    message = before + phrase + after
    for exc in (
        sqlite3.OperationalError(message),
        asyncpg.exceptions.ConnectionDoesNotExistError(message),
        OSError(errno, message) if errno is not None else OSError(message),
        TimeoutError(message),
        asyncpg.exceptions.InterfaceError(message),
    ):
        reason = fault_reason(exc)
        assert reason is None or ("\n" not in reason and len(reason) < 300)


class socket_closed:
    """A local port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None
