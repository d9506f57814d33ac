"""Retention of addresses in the proof of dispatch (``delivery``) and the approved audiences
(``campaign_recipient``): the expired ones become keyed pseudonyms, a batch per short
transaction with its audit event.

Where the time goes, and why it is done this way (docs/retention.md, BENCHMARKS.md):

- **PostgreSQL computes the pseudonyms.** Reading every address into Python, hashing it and
  sending it back cost two transfers of each row and a Python HMAC (about 5 us a row on this
  machine) per row; one ``UPDATE ... FROM (SELECT ...)`` over a range of ids computes
  HMAC-SHA256 with the built-in ``sha256()`` from the key's inner and outer pads
  (domain/pseudonym.py: ``hmac_pads``), so no extension is needed and nothing crosses the wire
  but the range. Only addresses whose normal form SQL can reproduce exactly are done so:
  printable ASCII without spaces, where NFKC changes nothing and ``lower`` under the C
  collation is ``casefold``. Every other address is done in Python afterwards (below).
- **Batches are ranges of ids, sized by the time they hold their row locks.** Row locks last
  from the ``UPDATE`` to the commit; a batch that held them longer than
  ``retention.lock_target_ms`` halves the next range, one under a third of it doubles the next,
  between ``min(100, batch_size)`` and ``retention.batch_size`` ids.
- **Two workers** (``retention.workers``) on PostgreSQL: the ids of a group of campaigns are
  split into disjoint ranges, one per connection, each worker with its own batch sizes; each
  batch stays one transaction with its audit event. The table has ``fillfactor`` 80 (migration
  0015), leaving room on each page for new versions of its rows (docs/retention.md).
- **Passes over a window** (``retention.passes``, default 5) on PostgreSQL: a window of ids is
  done in that many passes, pass ``k`` taking the ids whose remainder by ``passes`` is ``k``,
  each pass in ranges of the sizer's size. One transaction so writes about a fifth of a page's
  rows, whose new versions fit in the fifth ``fillfactor`` 80 leaves free: HOT updates, with no
  index entries. Before the next pass comes back to the page, several transactions later (a
  window spans ``WINDOW_RANGES`` ranges), the old versions are dead to every snapshot and
  PostgreSQL prunes them, making room again. Done in one pass, every row
  of a page was written in one transaction and only a quarter fitted; the rest moved to new
  pages, with an entry in each of the table's five indexes (BENCHMARKS.md, fourth round).
- **One statement per range.** It picks the range's rows still in clear, writes the pseudonyms
  of those SQL can normalise and counts the others; only when there are others (rare) are they
  read, hashed in Python and written in the same transaction. Each pseudonym is computed once,
  in the materialised read: computed in a subquery of the ``UPDATE``'s ``FROM``, it was inlined
  by the planner into each column that uses it, three hashings of every row of ``delivery``
  (BENCHMARKS.md, fifth round). The ``UPDATE`` finds each row by the ``ctid`` the statement's
  own read returned, not by ``id``: no descent of the primary key's index per row (an ad hoc
  A/B, not a bench/ command: BENCHMARKS.md, fourth round). A row another transaction changed
  in between (a concurrent erasure) has a new ``ctid`` and is skipped, left for the next run.
- **On SQLite the Python path reads outside the transaction**: rows are read by keyset
  (``id > last ORDER BY id LIMIT n``) without a transaction, hashed, and written in a short
  transaction that only touches a row whose address is still the one read (a row changed in
  between is left for the next run).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.domain.pseudonym import ADDRESS_PREFIX, AddressPseudonyms, hmac_pads
from incident_svc.errors import causes
from incident_svc.rawsql import in_list, placeholders, query
from incident_svc.services.privacy.retention_kinds.base import (
    KindPlan,
    RunContext,
    RunResult,
    audit_batch,
    ms_since,
    no_wal_wait,
)

# ranges of ids in a window (see _sql_worker)
WINDOW_RANGES = 5
TABLE = {"delivery_address": "delivery", "recipient_address": "campaign_recipient"}
NOT_DONE = f"address NOT LIKE '{ADDRESS_PREFIX}%'"
_PLAIN = "address COLLATE \"C\" ~ '^[!-~]+$'"  # printable ASCII, no spaces
_SQL_PSEUDONYM = (
    f"'{ADDRESS_PREFIX}' || encode(sha256($2::bytea || sha256($1::bytea || "
    "convert_to(lower(address COLLATE \"C\"), 'UTF8'))), 'hex')"
)
# the relay's reply and the last error may repeat the address: it is replaced there too (the
# right-hand sides read the row as it was before this UPDATE, on both databases)
_PG_EXTRA = {
    "delivery": ", smtp_reply = replace(t.smtp_reply, t.address, v.p), "
    "last_error = replace(t.last_error, t.address, v.p)",
    "campaign_recipient": "",
}
_SQLITE_EXTRA = {
    "delivery": ", smtp_reply = replace(smtp_reply, address, ?), "
    "last_error = replace(last_error, address, ?)",
    "campaign_recipient": "",
}


@dataclass
class _Sizer:
    """The next batch's size from how long the last one held its locks."""

    size: int
    low: int
    high: int
    target_ms: float

    def after(self, lock_ms: float, full: bool) -> None:
        if lock_ms > self.target_ms:
            self.halve()
        elif full and lock_ms < self.target_ms / 3:
            self.size = min(self.high, self.size * 2)

    def halve(self) -> None:
        self.size = max(self.low, self.size // 2)


async def run(
    kind_plan: KindPlan, context: RunContext, result: RunResult, target_ms: float
) -> None:
    """Pseudonymise the expired addresses of the plan's campaigns, 500 campaigns at a time."""
    table = TABLE[kind_plan.kind]
    conn = connections.get("default")
    low = min(100, context.batch_size)
    sizer = _Sizer(min(context.batch_size, 1000), low, context.batch_size, target_ms)
    for start in range(0, len(kind_plan.campaigns), 500):
        chunk = kind_plan.campaigns[start : start + 500]
        if dialect(conn) == "postgres":
            await _sql_ranges(kind_plan, context, result, table, chunk, sizer)
        else:
            await _python_rows(kind_plan, context, result, table, chunk, sizer)


async def _bounds(table: str, chunk: list[int]) -> tuple[int, int] | None:
    conn = connections.get("default")
    [bounds] = await query(
        conn,
        f"SELECT min(id) AS lo, max(id) AS hi FROM {table} "
        f"WHERE campaign_id IN ({in_list(len(chunk))})",
        list(chunk),
    )
    if bounds["lo"] is None:
        return None
    return int(bounds["lo"]), int(bounds["hi"])


async def _sql_ranges(
    kind_plan: KindPlan,
    context: RunContext,
    result: RunResult,
    table: str,
    chunk: list[int],
    sizer: _Sizer,
) -> None:
    found = await _bounds(table, chunk)
    if found is None:
        return
    first, hi = found
    inner, outer = hmac_pads(context.key)
    # one statement per range and pass: the plain addresses are done, the others counted
    in_range = (
        f"id >= $3 AND id <= $4 AND campaign_id = ANY($5::bigint[]) AND id % $6 = $7 AND {NOT_DONE}"
    )
    sql = (
        f"WITH todo AS MATERIALIZED (SELECT ctid AS tid, "
        f"CASE WHEN {_PLAIN} THEN {_SQL_PSEUDONYM} END AS p FROM {table} WHERE {in_range}), "
        f"done AS (UPDATE {table} AS t SET address = v.p{_PG_EXTRA[table]} "
        "FROM todo AS v WHERE v.p IS NOT NULL AND t.ctid = v.tid RETURNING 1) "
        "SELECT (SELECT count(*) FROM done) AS changed, "
        "(SELECT count(*) FROM todo WHERE p IS NULL) AS others"
    )
    others_sql = (
        f"SELECT id, address FROM {table} WHERE id >= $1 AND id <= $2 "
        f"AND campaign_id = ANY($3::bigint[]) AND id % $4 = $5 AND {NOT_DONE}"
    )
    statements = _Statements(table, sql, others_sql, inner, outer, chunk)
    # disjoint ranges of ids, one per worker (a connection each); every batch is still its
    # own transaction with its audit event, and each worker sizes its own batches
    span = hi - first + 1
    workers = max(1, min(context.workers, span // sizer.low))
    step = -(-span // workers)
    sizers = [_Sizer(sizer.size, sizer.low, sizer.high, sizer.target_ms) for _ in range(workers)]
    try:
        async with asyncio.TaskGroup() as group:  # one failing stops the others
            for n, own in enumerate(sizers):
                lo = first + n * step
                ranges = (lo, min(lo + step - 1, hi))
                group.create_task(_sql_worker(kind_plan, context, result, statements, ranges, own))
    except BaseExceptionGroup as failed:  # the error itself, as with one worker
        raise failed.exceptions[0] from None
    sizer.size = min(own.size for own in sizers)  # the next campaigns start from there


@dataclass(frozen=True)
class _Statements:
    table: str
    sql: str
    others_sql: str
    inner: bytes
    outer: bytes
    chunk: list[int]


async def _sql_worker(
    kind_plan: KindPlan,
    context: RunContext,
    result: RunResult,
    st: _Statements,
    ranges: tuple[int, int],
    sizer: _Sizer,
) -> None:
    """The ids from first to hi: a window at a time, each window in ``context.passes`` passes,
    a range of a pass per transaction."""
    first, hi = ranges
    while first <= hi:
        # the window spans WINDOW_RANGES ranges, so a page written by one pass is written again
        # only several transactions later, when the old versions of its rows can be pruned
        window_last = min(first + sizer.size * WINDOW_RANGES - 1, hi)
        for remainder in range(context.passes):
            start = first
            while start <= window_last:
                last = min(start + sizer.size - 1, window_last)
                batch = (start, last, remainder)
                if await _sql_batch(kind_plan, context, result, st, batch, sizer):
                    start = last + 1  # else cancelled: the range again, at the halved size
        first = window_last + 1


async def _sql_batch(
    kind_plan: KindPlan,
    context: RunContext,
    result: RunResult,
    st: _Statements,
    batch: tuple[int, int, int],
    sizer: _Sizer,
) -> bool:
    """One transaction: the ids from first to last whose remainder by the passes is given.
    False if it ran past the lock limit and was cancelled (rolled back, nothing changed)."""
    first, last, remainder = batch
    passes = context.passes
    # a batch already at the smallest size runs without the limit, so that the run progresses
    limited = context.lock_limit_ms is not None and sizer.size > sizer.low
    locked = time.perf_counter()
    try:
        async with write_transaction() as conn:
            await no_wal_wait(conn)
            if limited:
                # whole milliseconds, at least 1: 0 would mean no limit
                limit = max(1, round(context.lock_limit_ms or 0))
                await conn.execute_query(f"SET LOCAL statement_timeout = {limit}")
            locked = time.perf_counter()
            [row] = await conn.execute_query_dict(
                st.sql, [st.inner, st.outer, first, last, st.chunk, passes, remainder]
            )
            changed = int(row["changed"])
            if row["others"]:  # rare: addresses SQL cannot normalise, hashed here
                rows = await conn.execute_query_dict(
                    st.others_sql, [first, last, st.chunk, passes, remainder]
                )
                pseudonyms = AddressPseudonyms(context.key)
                pairs = [(int(r["id"]), str(r["address"]), pseudonyms(str(r["address"])))
                         for r in rows]  # fmt: skip
                pseudonyms.forget()
                changed += await _write(conn, st.table, pairs)
            statement_ms = ms_since(locked)
            if changed:
                stride = {"stride": passes, "offset": remainder} if passes > 1 else None
                await audit_batch(
                    conn, kind_plan, context, table=st.table, first=first, last=last,
                    rows=changed, extra=stride,
                )  # fmt: skip
    except Exception as exc:
        if not (limited and _cancelled(exc)):
            raise
        lock_ms = ms_since(locked)
        result.add_cancelled(lock_ms)
        sizer.halve()
        return False
    lock_ms = ms_since(locked)
    result.add_batch(changed, statement_ms, lock_ms)
    sizer.after(lock_ms, full=changed >= ids_in_pass(first, last, passes, remainder))
    if context.progress and changed:
        context.progress(kind_plan.kind, result.rows)
    return True


def _cancelled(exc: BaseException) -> bool:
    """Whether exc is (or was caused by) PostgreSQL cancelling a statement on its timeout."""
    return any(isinstance(seen, asyncpg.exceptions.QueryCanceledError) for seen in causes(exc))


def ids_in_pass(first: int, last: int, passes: int, remainder: int) -> int:
    """How many ids from first to last leave the remainder by passes."""
    return (last - remainder) // passes - (first - 1 - remainder) // passes


async def _python_rows(
    kind_plan: KindPlan,
    context: RunContext,
    result: RunResult,
    table: str,
    chunk: list[int],
    sizer: _Sizer,
) -> None:
    """Rows still in clear (all of them on SQLite), read by keyset, hashed here."""
    conn = connections.get("default")
    pseudonyms = AddressPseudonyms(context.key)
    after = 0
    while True:
        rows = await query(
            conn,
            f"SELECT id, address FROM {table} WHERE campaign_id IN ({in_list(len(chunk))}) "
            f"AND id > ? AND {NOT_DONE} ORDER BY id LIMIT ?",
            [*chunk, after, sizer.size],
        )
        if not rows:
            return
        after = int(rows[-1]["id"])
        pairs = [(int(r["id"]), str(r["address"]), pseudonyms(str(r["address"]))) for r in rows]
        pseudonyms.forget()
        async with write_transaction() as conn:
            await no_wal_wait(conn)
            locked = time.perf_counter()
            changed = await _write(conn, table, pairs)
            statement_ms = ms_since(locked)
            if changed:
                await audit_batch(
                    conn, kind_plan, context, table=table, first=pairs[0][0], last=after,
                    rows=changed,
                )  # fmt: skip
        lock_ms = ms_since(locked)
        result.add_batch(changed, statement_ms, lock_ms)
        sizer.after(lock_ms, full=len(rows) >= sizer.size)
        if context.progress and changed:
            context.progress(kind_plan.kind, result.rows)


async def _write(conn: BaseDBAsyncClient, table: str, pairs: list[tuple[int, str, str]]) -> int:
    """Write the pseudonyms of rows whose address is still the one read; how many changed."""
    if dialect(conn) == "postgres":
        changed, _ = await conn.execute_query(
            f"UPDATE {table} AS t SET address = v.p{_PG_EXTRA[table]} "
            "FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(id, a, p) "
            "WHERE t.id = v.id AND t.address = v.a",
            [[i for i, _, _ in pairs], [a for _, a, _ in pairs], [p for _, _, p in pairs]],
        )
        return int(changed)
    extra = _SQLITE_EXTRA[table]
    values: list[list[Any]] = [[p, p, p, i, a] if extra else [p, i, a] for i, a, p in pairs]
    before = await _total_changes(conn)
    await conn.execute_many(
        placeholders(f"UPDATE {table} SET address = ?{extra} WHERE id = ? AND address = ?", conn),
        values,
    )
    return await _total_changes(conn) - before


async def _total_changes(conn: BaseDBAsyncClient) -> int:
    [row] = await query(conn, "SELECT total_changes() AS n", [])
    return int(row["n"])
