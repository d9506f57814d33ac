"""The services' send verbs with the relay connections opened as the entry points open them
(runtime/wiring.py), for tests that call the services directly."""

from __future__ import annotations

import asyncio
from typing import Any

from incident_svc.config import Settings
from incident_svc.runtime import wiring
from incident_svc.services.delivery import campaign_start, dispatcher


async def send_now(*, settings: Settings, **kwargs: Any) -> dict[str, int]:
    """`campaign send --now` without the CLI."""
    async with wiring.smtp_pool(settings) as pool:
        return await campaign_start.send_now(settings=settings, pool=pool, **kwargs)


async def run_dispatcher(*, settings: Settings, stop: asyncio.Event, **kwargs: Any) -> None:
    """The service's dispatcher over a pool of its own, as `serve` runs it."""
    async with wiring.smtp_pool(settings) as pool:
        await dispatcher.run_dispatcher(settings=settings, pool=pool, stop=stop, **kwargs)
