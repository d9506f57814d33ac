"""Database faults that pass, and riding them out where they happen.

A fault is something a retry on a fresh connection can cure: a connection lost or refused,
a PostgreSQL server restarting or shutting down, a serialisation failure or deadlock, a busy,
locked or full SQLite database. :func:`ride_out` runs one database operation (a claim, a
group commit, a lease renewal) again after such a fault, with a short doubling pause, until it
succeeds or ``database.fault_tolerance_seconds`` have passed; then it raises
:class:`~incident_svc.errors.DatabaseUnavailableError` (one line, exit code 8). Any other
error goes up untouched. The operation must be a whole transaction, so that running it
again is safe: what failed was rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from tortoise import connections
from tortoise.exceptions import DBConnectionError

from incident_svc.errors import DatabaseUnavailableError, IncidentSvcError, causes

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.05
MAX_PAUSE_SECONDS = 2.0

# 08: connection exceptions; 40001/40P01: serialisation failure, deadlock; 57P01-57P03: the
# server shutting down, crashed or starting up; 53100/53300: disk full, too many connections
_PASSING_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "53100", "53300"}
_SQLITE_PASSING = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "database or disk is full",
    "disk i/o error",
)

Notify = Callable[[str], None]


def fault_reason(exc: BaseException) -> str | None:
    """One line saying which passing fault ``exc`` is (or was caused by); None if it is none."""
    for seen in causes(exc):
        if isinstance(seen, IncidentSvcError):
            return None  # ours says what it is (a DatabaseUnavailableError is final)
        reason = _own_reason(seen)
        if reason is not None:
            return reason
    return None


def _own_reason(exc: BaseException) -> str | None:
    name = type(exc).__name__
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        if state.startswith("08") or state in _PASSING_SQLSTATES:
            return f"{name}: {_first_line(exc)}"
        return None
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc).lower():
        return f"{name}: {_first_line(exc)}"
    if isinstance(exc, asyncpg.exceptions.InternalClientError) and "holder" in str(exc):
        return f"{name}: {_first_line(exc)}"  # a connection the server cut, given back twice
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return f"SQLite: {_first_line(exc)}" if any(p in text for p in _SQLITE_PASSING) else None
    if isinstance(exc, DBConnectionError | ConnectionError | TimeoutError):
        return f"{name}: {_first_line(exc)}" if str(exc) else name
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name}: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


class FaultNotice:
    """Says that a database fault began, and that it is over, once for all the operations that
    share it while any of them rides it out: one worker's lanes meet the same fault at once,
    and the operator hears of it once, not once per lane."""

    def __init__(self, notify: Notify | None = None) -> None:
        self._notify = notify
        self._riding = 0  # operations riding a fault out now
        self._since = 0.0  # when the first of them met it

    def began(self, what: str, reason: str, left: float) -> None:
        if self._riding == 0:
            self._since = time.monotonic()
            line = f"database fault during {what} ({reason}): retrying for up to {left:.0f} s"
            _tell(self._notify, line)
        self._riding += 1

    def ended(self, what: str, *, answered: bool) -> None:
        """One operation is done with its fault (``answered``: it went through at last)."""
        self._riding -= 1
        if self._riding == 0 and answered:
            took = time.monotonic() - self._since
            _tell(self._notify, f"database answers again: {what} done after {took:.1f} s")


async def ride_out(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    tolerance: float,
    notify: Notify | None = None,
    notice: FaultNotice | None = None,
) -> T:
    """``await operation()``, again after each passing fault, for up to ``tolerance`` seconds.

    ``what`` names the operation in the log and in the final error; ``notify`` hears one line
    when a fault begins and one when it is over (``campaign send --now`` prints them). Pass a
    shared ``notice`` instead so that operations riding out one fault together say so once.
    """
    notice = notice or FaultNotice(notify)
    deadline = time.monotonic() + tolerance
    pause, riding = FIRST_PAUSE_SECONDS, False
    try:
        while True:
            try:
                result = await operation()
            except Exception as exc:
                reason = fault_reason(exc)
                if reason is None:
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DatabaseUnavailableError(
                        f"the database failed during {what} for {tolerance:g} s ({reason})"
                    ) from None
                if not riding:
                    riding = True
                    notice.began(what, reason, left)
                await _fresh_connections()
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
                continue
            if riding:
                riding = False
                notice.ended(what, answered=True)
            return result
    finally:
        if riding:  # given up, or cancelled: no end to tell
            notice.ended(what, answered=False)


def _tell(notify: Notify | None, line: str) -> None:
    if notify is not None:
        notify(line)  # the foreground command prints it (and has no log handler)
    else:
        log.warning("%s", line)


async def _fresh_connections() -> None:
    """Make the pool open new connections instead of handing out ones that died with the
    server (asyncpg finds out a pooled connection is dead only when it is used)."""
    try:
        client = connections.get("default")
    except Exception:  # not initialised: nothing pooled
        return
    pool = getattr(client, "_pool", None)
    if isinstance(pool, asyncpg.Pool):
        await pool.expire_connections()
