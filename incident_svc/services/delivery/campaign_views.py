"""Reading campaigns: one campaign, the list, and live delivery status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise import connections

from incident_svc.domain.times import utcnow
from incident_svc.models import Campaign
from incident_svc.rawsql import as_utc, query
from incident_svc.services.delivery import audiences, campaign_matter
from incident_svc.services.delivery.campaigns import delivery_counts, get
from incident_svc.services.relay import relay_state

RATE_WINDOW = timedelta(seconds=60)
# messages per second for the time left while the relay is down and nothing was sent in the
# minute before (down from the start) and smtp.rate_limit is 0: a rough figure, said as such
ASSUMED_RATE = 10.0


def describe(campaign: Campaign) -> dict[str, Any]:
    """The fields people and scripts read (the incident prefetched)."""
    return {
        "id": campaign.id,
        "incident": campaign_matter.incident_ref(campaign),
        "matter": campaign_matter.matter_ref(campaign),
        "kind": campaign.kind,
        "channels": campaign.channels,
        "status": campaign.status,
        "audience": campaign.audience_count,
        "audience_rule": campaign.audience,
        "audience_groups": campaign.audience_groups,
        "audience_by_rule": audiences.by_rule(campaign.audience_groups),
        "scheduled_at": campaign.scheduled_at,
        "hold_until": campaign.hold_until,
        "hold_reason": campaign.hold_reason,
        "created_by": campaign.created_by,
        "creator_identity": campaign.creator_identity,
        "creator_principal": campaign.creator_principal,
        "approved_by": campaign.approved_by,
        "approver_identity": campaign.approver_identity,
        "approver_principal": campaign.approver_principal,
        "approved_at": campaign.approved_at,
        "approval_digest": campaign.approval_digest,
        "approval_required": campaign.approval_required,
        "approval_source": campaign.approval_source,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "template_hash": campaign.template_hash,
    }


async def show(campaign_id: int) -> dict[str, Any]:
    campaign = await get(campaign_id)
    return {**describe(campaign), "deliveries": await delivery_counts(campaign_id)}


async def list_campaigns(*, incident_ref: str | None = None) -> list[dict[str, Any]]:
    found = Campaign.all().prefetch_related(*campaign_matter.RELATED).order_by("id")
    if incident_ref is not None:
        found = found.filter(incident__ref=incident_ref)
    return [describe(c) for c in await found]


async def status(
    campaign_id: int,
    *,
    now: datetime | None = None,
    failures: int = 5,
    relay: str | None = None,
    rate_limit: float = 0.0,
) -> dict[str, Any]:
    """Counts by state, accepted / bounced / substituted, the send rate over the last minute, time left, the latest failures,
    and the relay (``host:port``; any relay when None) if it cannot be reached.

    While the relay is down the time left is the wait for its next probe plus the rest at
    the rate of the minute before the outage; when nothing was sent in that minute (down from
    the start), at ``rate_limit`` (smtp.rate_limit) or else at ``ASSUMED_RATE``.
    ``eta_basis`` says which: ``measured``, ``rate_limit`` or ``assumed``.
    """
    now = now or utcnow()
    campaign = await get(campaign_id)
    counts = await delivery_counts(campaign_id)
    down = [v for v in await relay_state.read_all() if not v.up and relay in (None, v.relay)]
    outage = down[0] if down else None
    window_end = outage.down_since if outage and outage.down_since else now
    rate = await _rate(campaign_id, window_end)
    remaining = counts["pending"] + counts["sending"]
    wait = None
    if outage is not None:
        probe = outage.next_probe_at
        wait = max(0.0, (probe - now).total_seconds()) if probe is not None else 0.0
    eta, basis = time_left(remaining, rate, wait, rate_limit)
    return {
        "id": campaign.id,
        "incident": campaign_matter.incident_ref(campaign),
        "matter": campaign_matter.matter_ref(campaign),
        "status": campaign.status,
        "hold_until": campaign.hold_until,
        "total": sum(counts.values()),
        "counts": counts,
        "rate_per_second": round(rate, 2),
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "eta_basis": basis,
        "relay": outage.describe() if outage else "up",
        "relay_down_since": outage.down_since if outage else None,
        "relay_next_probe_at": outage.next_probe_at if outage else None,
        **await after_acceptance(campaign_id),
        "latest_failures": await _latest_failures(campaign_id, failures),
    }


def time_left(
    remaining: int, rate: float, wait: float | None, rate_limit: float = 0.0
) -> tuple[float | None, str | None]:
    """Seconds until ``remaining`` deliveries are done, and on what rate that rests.

    ``rate``: measured over the last minute (before the outage, if any); ``wait``: seconds to
    the relay's next probe while it is down, None while it is up. With the relay up and
    nothing measured there is no estimate (the campaign may be on hold or not yet due).
    """
    if not remaining:
        return None, None
    if rate > 0:
        return (wait or 0.0) + remaining / rate, "measured"
    if wait is None:
        return None, None
    if rate_limit > 0:
        return wait + remaining / rate_limit, "rate_limit"
    return wait + remaining / ASSUMED_RATE, "assumed"


async def _rate(campaign_id: int, until: datetime) -> float:
    """Messages accepted per second in the minute before ``until``."""
    recent = await query(
        connections.get("default"),
        "SELECT count(*) AS n FROM delivery WHERE campaign_id = ? AND status = 'sent' "
        "AND sent_at >= ? AND sent_at <= ?",
        [campaign_id, until - RATE_WINDOW, until],
    )
    return int(recent[0]["n"]) / RATE_WINDOW.total_seconds()


async def after_acceptance(campaign_id: int) -> dict[str, int]:
    """Accepted by the relay, and what reports said since (docs/bounces.md): bounced,
    complained, delayed; and how many people got substitute notice (a personal banner)."""
    [row] = await query(
        connections.get("default"),
        "SELECT sum(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS accepted, "
        "sum(CASE WHEN outcome = 'bounced' THEN 1 ELSE 0 END) AS bounced, "
        "sum(CASE WHEN outcome = 'complained' THEN 1 ELSE 0 END) AS complained, "
        "sum(CASE WHEN outcome = 'delayed' THEN 1 ELSE 0 END) AS delayed, "
        "sum(CASE WHEN substituted_at IS NOT NULL THEN 1 ELSE 0 END) AS substituted "
        "FROM delivery WHERE campaign_id = ?",
        [campaign_id],
    )
    return {key: int(value or 0) for key, value in row.items()}


async def _latest_failures(campaign_id: int, limit: int) -> list[dict[str, Any]]:
    rows = await query(
        connections.get("default"),
        "SELECT d.id AS delivery_id, d.address, a.number, a.at, a.outcome, a.code, a.reply "
        "FROM delivery_attempt a JOIN delivery d ON d.id = a.delivery_id "
        "WHERE d.campaign_id = ? AND a.outcome <> 'accepted' ORDER BY a.id DESC LIMIT ?",
        [campaign_id, limit],
    )
    for row in rows:
        row["at"] = as_utc(row["at"])
    return rows
