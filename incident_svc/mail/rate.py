"""An even spacing of sends: at most N messages per second over everything that shares it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """Hands out send slots ``1/per_second`` apart; 0 means no limit."""

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second < 0:
            raise ValueError("per_second must be >= 0")
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._next = 0.0

    def reserve(self) -> float:
        """Take the next slot; returns how many seconds to wait for it."""
        if not self._interval:
            return 0.0
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._interval
        return slot - now

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
