"""When to try a delivery again: exponential backoff with jitter, capped. Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """``delivery.max_attempts``, ``retry_base_seconds`` and ``retry_max_seconds`` in one value."""

    max_attempts: int
    base_seconds: float
    max_seconds: float

    def gives_up_after(self, attempts: int) -> bool:
        """True when ``attempts`` tries were made and no further one is allowed."""
        return attempts >= self.max_attempts

    def delay(self, attempts: int, *, draw: float) -> float:
        """Seconds to wait after the ``attempts``-th failed try.

        The nominal delay doubles from ``base_seconds`` and is capped at ``max_seconds``;
        ``draw`` (uniform in [0, 1)) spreads it over [nominal/2, nominal) so that many
        deliveries that failed together ("equal jitter") do not come back together, while
        none comes back sooner than half the nominal wait.
        """
        if attempts < 1:
            raise ValueError("attempts counts tries made so far and starts at 1")
        if not 0.0 <= draw < 1.0:
            raise ValueError("draw must be in [0, 1)")
        exponent = min(attempts - 1, 62)  # 2**62 seconds is past any cap anyone sets
        nominal = min(self.max_seconds, self.base_seconds * (2.0**exponent))
        return nominal / 2.0 + nominal / 2.0 * draw

    def next_attempt_at(
        self, now: datetime, attempts: int, *, rng: random.Random | None = None
    ) -> datetime:
        """The time of the next try after the ``attempts``-th failure at ``now``."""
        draw = (rng or random).random()
        return now + timedelta(seconds=self.delay(attempts, draw=draw))
