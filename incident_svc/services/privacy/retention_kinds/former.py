"""Retention of former subjects: people marked as no longer in the inventory
(`subject leave`, ``subject.left_at``), two years after they left.

Past the period each one is erased as `subject erase` does (services/privacy/subjects.py: the subject
row, holdings and exposures go, the history is pseudonymised, the proof of every notice
stays), except a person something still needs (services/privacy/erasure_guard.py: a campaign in
progress, an open obligation, a held disclosure): they are kept, and listed as held with the
reason, until the next run finds them free. A batch is at most ``_MAX_BATCH`` people (an
erasure is a few statements per person) in one transaction with its audit event, which names
them by the pseudonyms of their references.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.db import write_transaction
from incident_svc.domain.pseudonym import ref_pseudonym
from incident_svc.models import Subject
from incident_svc.rawsql import query
from incident_svc.services.privacy import erasure_guard, subjects
from incident_svc.services.privacy.retention_kinds.base import (
    KindPlan,
    RunContext,
    RunResult,
    audit_batch,
    day_of,
    ms_since,
    per_day,
)

KIND = "former_subject"
_MAX_BATCH = 100


async def plan(settings: Settings, now: datetime) -> KindPlan:
    """People who left before the cutoff, per day they left; those still needed are held."""
    days = settings.retention.former_subject_days
    cutoff = now - timedelta(days=days)
    conn = connections.get("default")
    day = day_of(conn, "left_at")
    rows = await query(
        conn,
        f"SELECT {day} AS day, count(*) AS n FROM subject WHERE left_at < ? GROUP BY {day}",
        [cutoff],
    )
    total, entries = per_day([(r["day"], r["n"]) for r in rows], "left")
    kind_plan = KindPlan(KIND, days, cutoff, total, entries, date_label="left")
    cache = erasure_guard.ObligationCache(settings)
    for subject in await _due(cutoff):
        reasons = await subjects.refusals(conn, subject, cache)
        if reasons:
            kind_plan.held.append(f"{subject.external_ref}: {'; '.join(reasons)}")
    kind_plan.rows -= len(kind_plan.held)
    return kind_plan


async def _due(cutoff: datetime, after: int = 0, limit: int | None = None) -> list[Subject]:
    rows = Subject.filter(left_at__lt=cutoff, id__gt=after).order_by("id")
    return list(await (rows.limit(limit) if limit else rows))


async def run(
    kind_plan: KindPlan, context: RunContext, result: RunResult, settings: Settings
) -> None:
    """Erase the due people in batches; keep (and list) those something still needs."""
    cache = erasure_guard.ObligationCache(settings)
    size = min(context.batch_size, _MAX_BATCH)
    after = 0
    while True:
        began = time.perf_counter()
        async with write_transaction() as conn:
            batch = await _due(kind_plan.cutoff, after, size)
            if not batch:
                return
            after = batch[-1].id
            erased = []
            started = time.perf_counter()
            for subject in batch:
                reasons = await subjects.refusals(conn, subject, cache)
                if reasons:
                    result.held.append(f"{subject.external_ref}: {'; '.join(reasons)}")
                    continue
                await subjects.pseudonymise(conn, subject, context.key)
                erased.append(ref_pseudonym(context.key, subject.external_ref))
            statement_ms = ms_since(started)
            if erased:
                await audit_batch(
                    conn, kind_plan, context, table="subject", first=batch[0].id, last=after,
                    rows=len(erased), extra={"subjects": erased},
                )  # fmt: skip
        result.add_batch(len(erased), statement_ms, ms_since(began))
        if context.progress:
            context.progress(KIND, result.rows)
