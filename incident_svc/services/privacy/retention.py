"""Retention: personal fields past their period become keyed pseudonyms or go, in short
batches, each audited (docs/retention.md gives each kind, its period and its legal reason).

Kinds, each with its own period in ``[retention]``:

- ``delivery_address``: ``delivery.address`` (the proof of dispatch), and that address where
  the relay's reply or the last error repeats it; ``recipient_address``:
  ``campaign_recipient.address`` (the audience frozen at approval). A row expires when its
  campaign ended (completed or cancelled) longer ago than the period
  (retention_kinds/addresses.py).
- ``bounce_report``: the raw text of a bounce or complaint report, a year after receipt
  (retention_kinds/bounces.py).
- ``exposure``: who an incident affected, after the incident closed; the rows become
  pseudonymous rows of ``exposure_expired`` (retention_kinds/exposures.py).
- ``former_subject``: people marked as no longer in the inventory (`subject leave`), erased
  as `subject erase` does unless something still needs them (retention_kinds/former.py).

``plan`` counts what would change, per kind and day; ``run`` does it. Rows already done are
skipped, so a run stopped anywhere is continued by the next. Nothing chained is rewritten: the
content hash, Message-ID, times and the relay's acceptance stay, so the proof of dispatch
still verifies against a kept copy of the message.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus
from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
from incident_svc.rawsql import in_list, query
from incident_svc.services.privacy.retention_kinds import addresses, bounces, exposures, former
from incident_svc.services.privacy.retention_kinds.base import (
    KindPlan,
    Progress,
    RunContext,
    RunResult,
)

__all__ = ["KINDS", "KindPlan", "RunResult", "plan", "run"]

ADDRESS_KINDS = ("delivery_address", "recipient_address")
KINDS = (*ADDRESS_KINDS, bounces.KIND, exposures.KIND, former.KIND)
_ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


def period_days(settings: Settings, kind: str) -> int:
    days: int = getattr(settings.retention, f"{kind}_days")
    return days


async def _expired_campaigns(cutoff: datetime) -> dict[int, datetime]:
    rows = await Campaign.filter(status__in=list(_ENDED), finished_at__lt=cutoff).values_list(
        "id", "finished_at"
    )
    return {int(cid): at for cid, at in rows}


async def _address_plan(
    settings: Settings, kind: str, moment: datetime, *, count: bool
) -> KindPlan:
    days = period_days(settings, kind)
    cutoff = moment - timedelta(days=days)
    ended = await _expired_campaigns(cutoff)
    kind_plan = KindPlan(kind, days, cutoff, campaigns=sorted(ended))
    if not count:  # a run needs the campaigns, not a count of every row
        return kind_plan
    counts = await _counts(connections.get("default"), addresses.TABLE[kind], sorted(ended))
    per_day: dict[str, list[int]] = {}
    for cid, rows in counts.items():
        day = ended[cid].date().isoformat()
        entry = per_day.setdefault(day, [0, 0])
        entry[0] += 1
        entry[1] += rows
        kind_plan.rows += rows
    kind_plan.by_date = [
        {"ended": day, "campaigns": c, "rows": r} for day, (c, r) in sorted(per_day.items())
    ]
    return kind_plan


async def plan(settings: Settings, *, now: datetime | None = None) -> list[KindPlan]:
    """What a run would change now: rows per kind, and per day (campaign ended, report
    received, incident closed, person left)."""
    return await _plans(settings, now or utcnow(), count=True)


async def _plans(settings: Settings, moment: datetime, *, count: bool) -> list[KindPlan]:
    plans = [await _address_plan(settings, k, moment, count=count) for k in ADDRESS_KINDS]
    plans.append(await bounces.plan(settings, moment))
    plans.append(await exposures.plan(settings, moment))
    plans.append(await former.plan(settings, moment))
    return plans


async def _counts(conn: BaseDBAsyncClient, table: str, campaigns: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(campaigns), 500):
        chunk = campaigns[start : start + 500]
        rows = await query(
            conn,
            f"SELECT campaign_id, count(*) AS n FROM {table} "
            f"WHERE campaign_id IN ({in_list(len(chunk))}) AND {addresses.NOT_DONE} "
            "GROUP BY campaign_id",
            list(chunk),
        )
        found.update({int(r["campaign_id"]): int(r["n"]) for r in rows if r["n"]})
    return found


async def run(
    settings: Settings,
    *,
    key: bytes,
    audit_key: bytes | None,
    actor: str,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Do every kind's retention, a batch per short transaction, each audited."""
    section = settings.retention
    context = RunContext(
        key,
        audit_key,
        actor,
        section.batch_size,
        progress,
        workers=section.workers,
        passes=section.passes,
        lock_limit_ms=section.lock_limit_ms or None,
    )
    results = []
    plans = await _plans(settings, now or utcnow(), count=False)
    # bounce reports first: their diagnostics are cleaned with the delivery's address in clear
    for kind_plan in sorted(plans, key=lambda p: p.kind != bounces.KIND):
        result = RunResult(kind_plan.kind)
        started = time.perf_counter()
        if kind_plan.kind in ADDRESS_KINDS:
            target = settings.retention.lock_target_ms
            await addresses.run(kind_plan, context, result, target)
        elif kind_plan.kind == bounces.KIND and kind_plan.rows:
            await bounces.run(kind_plan, context, result)
        elif kind_plan.kind == exposures.KIND:
            result.held = kind_plan.held
            if kind_plan.rows:
                await exposures.run(kind_plan, context, result)
        elif kind_plan.kind == former.KIND and (kind_plan.rows or kind_plan.held):
            await former.run(kind_plan, context, result, settings)
        result.seconds = time.perf_counter() - started
        results.append(result)
    return sorted(results, key=lambda r: KINDS.index(r.kind))
