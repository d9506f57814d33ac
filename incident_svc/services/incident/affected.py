"""Finding exactly who an incident affects, storing it as exposures, and saying what changed.

Resolution is a few set-based statements inside one transaction: the new list is computed
into a staging table, compared with the stored exposures (added, removed, changed), written
over them, hashed, and recorded in the audit log with the incident's new count and hash.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.db import dialect, write_transaction
from incident_svc.domain.scope import jurisdiction_filter
from incident_svc.domain.times import utcnow
from incident_svc.errors import ValidationError
from incident_svc.models import Account, Incident
from incident_svc.rawsql import db_time, params, temp_table, time_param
from incident_svc.services.auditlog import audit
from incident_svc.services.files.input_file import read_capped
from incident_svc.services.incident import affected_sql as q
from incident_svc.services.incident import incidents, reach
from incident_svc.services.incident.affected_scan import Scan, count_pages, read_stage

SAMPLE = 20
REF_LIST_MAX_BYTES = 256 * 1024 * 1024  # several million references
PAGE = 50_000


@dataclass(frozen=True)
class RefList:
    """An --include or --exclude file: references with their line numbers."""

    kind: str
    path: Path
    refs: list[tuple[str, int]]
    sha256: str

    def describe(self) -> dict[str, Any]:
        return {"file": self.path.name, "sha256": self.sha256, "count": len(self.refs)}


@dataclass
class Resolution:
    incident: str
    total: int
    added: int
    removed: int
    changed: int
    hash: str
    previous_hash: str | None
    by_jurisdiction: dict[str, int] = field(default_factory=dict)
    by_account: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    added_sample: list[str] = field(default_factory=list)
    removed_sample: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_ref_list(kind: str, path: Path) -> RefList:
    """One reference a line (``#`` comments and blank lines skipped), or a CSV whose header
    has an ``external_ref`` column (such as an ``--export`` file)."""
    raw = read_capped(path, REF_LIST_MAX_BYTES, f"--{kind}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("is not UTF-8 text", file=str(path)) from None
    lines = text.splitlines()
    refs = (
        _csv_refs(path, lines)
        if lines and "external_ref" in lines[0].split(",")
        else [
            (line.strip(), number)
            for number, line in enumerate(lines, start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    )
    for ref, number in refs:
        if len(ref) > 128 or any(ord(char) < 32 for char in ref):
            raise ValidationError("is not a reference", file=str(path), line=number)
    return RefList(kind, path, refs, hashlib.sha256(raw).hexdigest())


def _csv_refs(path: Path, lines: list[str]) -> list[tuple[str, int]]:
    reader = csv.DictReader(lines)
    return [
        (row["external_ref"].strip(), reader.line_num)
        for row in reader
        if (row.get("external_ref") or "").strip()
    ]


async def resolve(
    *,
    ref: str,
    actor: str,
    key: bytes | None,
    include: RefList | None = None,
    exclude: RefList | None = None,
    before_commit: Callable[[], Awaitable[object]] | None = None,
) -> Resolution:
    """Resolve the incident's scope into its exposures; see the module docstring.
    ``before_commit`` runs last inside the transaction (the export): if it fails, nothing
    of the run is committed or audited."""
    started = time.perf_counter()
    async with write_transaction() as conn:
        d = dialect(conn)
        incident = await incidents.locked(conn, ref)
        await _load_lists(conn, d, [x for x in (include, exclude) if x])
        await _stage(conn, d, incident, include, exclude)
        first = not await _rows(
            conn, d, "SELECT 1 AS x FROM exposure WHERE incident_id = ? LIMIT 1", [incident.id]
        )
        pages = await read_stage(conn, d)
        compared = None if first else await _compare(conn, d, incident)
        # the list is hashed and counted in a thread while the database writes it: the
        # database's own work releases the interpreter lock, so both cores are busy
        counting = asyncio.create_task(asyncio.to_thread(count_pages, pages, incident.categories))
        try:
            await _write(conn, d, incident.id, first=first)
        except BaseException:
            counting.cancel()  # its thread ends by itself; nothing of it is used
            raise
        scan = await counting
        del pages
        result = _first(incident, scan) if compared is None else compared
        result.hash, result.by_jurisdiction, result.by_category = (
            scan.hash,
            scan.by_jurisdiction,
            scan.by_category,
        )
        result.by_account = await _account_names(conn, scan.by_account_id)
        await _finish(conn, incident, result)
        await audit.record(
            conn,
            actor=actor,
            action="incident.affected",
            target_type="incident",
            target_id=incident.ref,
            details={
                "incident": incident.ref,
                "count": result.total,
                "hash": result.hash,
                "previous_hash": result.previous_hash,
                "added": result.added,
                "removed": result.removed,
                "changed": result.changed,
                "include": include.describe() if include else None,
                "exclude": exclude.describe() if exclude else None,
                "scope": {
                    "systems": incident.systems,
                    "categories": incident.categories,
                    "jurisdictions": incident.jurisdictions,
                    "accounts": incident.account_refs,
                },
            },
            key=key,
        )
        if before_commit is not None:
            await before_commit()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


async def _execute(conn: BaseDBAsyncClient, d: str, sql: str, args: Sequence[Any] = ()) -> None:
    await conn.execute_query(params(d, sql), list(args))


async def _rows(
    conn: BaseDBAsyncClient, d: str, sql: str, args: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    return list(await conn.execute_query_dict(params(d, sql), list(args)))


async def _load_lists(conn: BaseDBAsyncClient, d: str, lists: Sequence[RefList]) -> None:
    for statement in temp_table(d, q.LISTS, "kind TEXT, external_ref TEXT, line BIGINT"):
        await conn.execute_query(statement)
    for ref_list in lists:
        rows = [[ref_list.kind, ref, line] for ref, line in ref_list.refs]
        for start in range(0, len(rows), PAGE):
            await conn.execute_many(
                params(d, f"INSERT INTO {q.LISTS} VALUES (?, ?, ?)"), rows[start : start + PAGE]
            )
    by_kind = {ref_list.kind: ref_list for ref_list in lists}
    unknown = await _rows(
        conn,
        d,
        f"SELECT l.kind AS kind, l.line AS line, l.external_ref AS ref FROM {q.LISTS} l "
        "WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.external_ref = l.external_ref) "
        "ORDER BY l.kind DESC, l.line LIMIT 1",
    )
    for row in unknown:
        raise ValidationError(
            f"no subject with reference {row['ref']!r}",
            file=str(by_kind[row["kind"]].path),
            line=row["line"],
        )
    both = await _rows(
        conn,
        d,
        f"SELECT i.external_ref AS ref, i.line AS line FROM {q.LISTS} i JOIN {q.LISTS} e "
        "ON e.external_ref = i.external_ref AND e.kind = 'exclude' WHERE i.kind = 'include' "
        "ORDER BY i.line LIMIT 1",
    )
    for row in both:
        raise ValidationError(
            f"{row['ref']!r} is both included and excluded",
            file=str(by_kind["include"].path),
            line=row["line"],
        )


async def _stage(
    conn: BaseDBAsyncClient,
    d: str,
    incident: Incident,
    include: RefList | None,
    exclude: RefList | None,
) -> None:
    columns = f"subject_id BIGINT PRIMARY KEY, cats TEXT, reasons {q.json_type(d)}, source TEXT"
    for statement in temp_table(d, q.STAGE, columns):
        await conn.execute_query(statement)
    scope = q.Scope(
        systems=incident.systems,
        categories=incident.categories,
        jurisdictions=jurisdiction_filter(incident.jurisdictions),
        account_refs=incident.account_refs,
    )
    await _execute(conn, d, *q.matched(d, scope, exclude is not None))
    if include is not None:
        await _execute(conn, d, *q.included(d, scope, include.path.name))


def _first(incident: Incident, scan: Scan) -> Resolution:
    """Nothing stored yet: everyone on the new list is added."""
    return Resolution(
        incident=incident.ref,
        total=scan.total,
        added=scan.total,
        removed=0,
        changed=0,
        hash="",
        previous_hash=incident.affected_hash,
        added_sample=scan.first_refs,
    )


async def _compare(conn: BaseDBAsyncClient, d: str, incident: Incident) -> Resolution:
    """How the new list (the stage) differs from the stored exposures."""
    new = (
        f"FROM {q.STAGE} a WHERE NOT EXISTS (SELECT 1 FROM exposure e "
        "WHERE e.incident_id = ? AND e.subject_id = a.subject_id)"
    )
    gone = (
        f"FROM exposure e WHERE e.incident_id = ? AND NOT EXISTS "
        f"(SELECT 1 FROM {q.STAGE} a WHERE a.subject_id = e.subject_id)"
    )
    args = [incident.id]
    counts = (await _rows(conn, d, q.compare_counts(d), args))[0]
    result = Resolution(
        incident=incident.ref,
        total=int(counts["total"] or 0),
        added=int(counts["added"] or 0),
        removed=await _count(conn, d, f"SELECT COUNT(*) AS n {gone}", args),
        changed=int(counts["changed"] or 0),
        hash="",
        previous_hash=incident.affected_hash,
    )
    if result.added:
        result.added_sample = await _sample(conn, d, f"a.subject_id AS id {new}", args)
    if result.removed:
        result.removed_sample = await _sample(conn, d, f"e.subject_id AS id {gone}", args)
    return result


async def _count(conn: BaseDBAsyncClient, d: str, sql: str, args: list[Any]) -> int:
    return int((await _rows(conn, d, sql, args))[0]["n"])


async def _sample(conn: BaseDBAsyncClient, d: str, body: str, args: list[Any]) -> list[str]:
    sql = (
        f"SELECT s.external_ref AS ref FROM subject s WHERE s.id IN (SELECT {body}) "
        f"ORDER BY s.external_ref LIMIT {SAMPLE}"
    )
    return [str(row["ref"]) for row in await _rows(conn, d, sql, args)]


async def _write(conn: BaseDBAsyncClient, d: str, incident_id: int, *, first: bool) -> None:
    """Keep exposures whose categories and reasons are unchanged; replace the rest."""
    categories = q.json_from_csv(d, "a.cats")
    same = (
        f"SELECT 1 FROM {q.STAGE} a WHERE a.subject_id = exposure.subject_id "
        f"AND exposure.categories = {categories} AND exposure.reasons = a.reasons "
        "AND exposure.source = a.source"
    )
    args: list[Any] = [incident_id, db_time(d, utcnow())]
    absent = ""
    if not first:
        await _execute(
            conn,
            d,
            f"DELETE FROM exposure WHERE incident_id = ? AND NOT EXISTS ({same})",
            [incident_id],
        )
        absent = (
            "WHERE NOT EXISTS (SELECT 1 FROM exposure e "
            "WHERE e.incident_id = ? AND e.subject_id = a.subject_id)"
        )
        args.append(incident_id)
    # the residence is written here, set-based; the trigger that fills an exposure inserted
    # without one (migration 0014) then skips every row. CROSS JOIN keeps SQLite's planner
    # on the stage first (one primary-key lookup per row), never a scan of every subject.
    join = "CROSS JOIN" if d == "sqlite" else "JOIN"
    await _execute(
        conn,
        d,
        "INSERT INTO exposure "
        "(incident_id, subject_id, categories, reasons, source, created_at, jurisdiction) "
        f"SELECT ?, a.subject_id, {categories}, a.reasons, a.source, {time_param(d)}, "
        f"s.jurisdiction FROM {q.STAGE} a {join} subject s ON s.id = a.subject_id {absent}",
        args,
    )
    await reach.fill_new(conn, incident_id=incident_id)  # exposures written anew


async def _account_names(conn: BaseDBAsyncClient, by_id: dict[int | None, int]) -> dict[str, int]:
    ids = [i for i in by_id if i is not None]
    rows = await Account.filter(id__in=ids).using_db(conn).values_list("id", "account_ref")
    names = {int(i): str(ref) for i, ref in rows}
    named = {names.get(i, "-") if i is not None else "-": n for i, n in by_id.items()}
    return dict(sorted(named.items()))


async def _finish(conn: BaseDBAsyncClient, incident: Incident, result: Resolution) -> None:
    incident.affected_count = result.total
    incident.affected_hash = result.hash
    incident.affected_resolved_at = utcnow()
    await incident.save(
        using_db=conn,
        update_fields=["affected_count", "affected_hash", "affected_resolved_at", "updated_at"],
    )
