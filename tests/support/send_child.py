"""A dispatcher process for tests: `python -m tests.support.send_child dispatch CAMPAIGN_ID`.

Runs the service's ``run_dispatcher`` (with the tests' plain composer) until the campaign is
completed. Settings come from the INCIDENT_SVC_* environment like the real command.
"""

from __future__ import annotations

import asyncio
import os
import sys

from incident_svc.config import load_settings
from incident_svc.db import database
from incident_svc.domain.enums import CampaignStatus
from incident_svc.models import Campaign
from tests.support import sending
from tests.support.composer import plain_loader


async def _dispatch_until_done(campaign_id: int, worker: str) -> None:
    settings = load_settings()
    stop = asyncio.Event()

    async def watch() -> None:
        while (await Campaign.get(id=campaign_id)).status is not CampaignStatus.COMPLETED:
            await asyncio.sleep(0.2)
        stop.set()

    await asyncio.gather(
        sending.run_dispatcher(settings=settings, stop=stop, worker_id=worker, loader=plain_loader),
        watch(),
    )


async def main(mode: str, campaign_id: int) -> None:
    settings = load_settings()
    async with database(settings.database_url):
        if mode != "dispatch":
            raise SystemExit(f"unknown mode {mode!r}")
        await _dispatch_until_done(campaign_id, f"child-{os.getpid()}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
