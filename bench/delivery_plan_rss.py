"""Peak memory of planning one campaign, in a fresh process: python -m bench.delivery_plan_rss URL."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.domain.approval import ApprovalPolicy
from incident_svc.domain.times import utcnow
from incident_svc.models import Delivery
from incident_svc.services.delivery import campaign_start, campaigns

BENCH_POLICY = ApprovalPolicy(required=False, source="bench")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def main(url: str) -> None:
    async with db.database(url):
        campaign = await campaigns.create(
            incident_ref="INC-2026-9999",
            kind="subject_notice",
            at=None,
            actor="bench",
            key=None,
            approval=BENCH_POLICY,
        )
        before = _rss_mb()
        started = time.perf_counter()
        await campaign_start.start(
            campaign_id=campaign.id,
            now=utcnow(),
            actor="bench",
            key=None,
            settings=load_settings(overrides={"approval": {"required": False}}),
        )
        seconds = time.perf_counter() - started
        rows = await Delivery.filter(campaign_id=campaign.id).count()
    print(
        json.dumps(
            {"rows": rows, "seconds": seconds, "peak_rss_mb": _rss_mb(), "rss_before_mb": before}
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
