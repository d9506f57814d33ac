"""An exercise's accelerated clock and its name: pure rules, no I/O.

The clock starts at the real moment the exercise started and runs ``speed`` times faster:
``now = started_at + (real_now - started_at) * speed``. Clock-start facts copied from a real
incident (when we became aware, ...) keep their real values, so every deadline the engine
computes is the real one, reached in minutes instead of days.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from incident_svc.errors import ValidationError

NAME_MAX = 40
_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
MAX_SPEED = 100_000.0


def check_name(text: str, *, field: str = "exercise name") -> str:
    """A name for a folder, a database and a URL path: a lower-case letter, then lower-case
    letters, digits and '-' (at most 40 characters)."""
    if not isinstance(text, str) or _NAME.fullmatch(text) is None:
        shown = repr(text)[:60]
        raise ValidationError(
            f"{shown} is not an exercise name: use a lower-case letter, then lower-case "
            f"letters, digits or '-', at most {NAME_MAX} characters (example: drill-2026-12)",
            field=field,
        )
    return text


def check_speed(speed: float) -> float:
    """How many exercise seconds pass in one real second (1 .. 100000)."""
    if not 1.0 <= speed <= MAX_SPEED:
        raise ValidationError(f"must be between 1 and {MAX_SPEED:g}, not {speed:g}", field="speed")
    return speed


@dataclass(frozen=True)
class ExerciseClock:
    """Real start, speed, and the real clock it reads (injected, so tests can drive it)."""

    started_at: datetime  # real UTC moment the exercise started: exercise hour 0
    speed: float
    real_now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def now(self) -> datetime:
        return self.at(self.real_now())

    __call__ = now

    def at(self, real: datetime) -> datetime:
        """The exercise time at a real moment."""
        elapsed = (real - self.started_at).total_seconds()
        return self.started_at + timedelta(seconds=max(elapsed, 0.0) * self.speed)

    def real_at(self, moment: datetime) -> datetime:
        """The real moment at which the exercise clock shows ``moment``."""
        ahead = (moment - self.started_at).total_seconds()
        return self.started_at + timedelta(seconds=max(ahead, 0.0) / self.speed)

    def hour(self, moment: datetime | None = None) -> float:
        """Exercise hours since the start (at ``moment`` on the exercise clock, default now)."""
        chosen = self.now() if moment is None else moment
        return (chosen - self.started_at).total_seconds() / 3600.0

    def real_seconds_until(self, hour: float) -> float:
        """Real seconds from now until the exercise clock reaches ``hour`` (0 if passed)."""
        return max(0.0, (hour - self.hour()) * 3600.0 / self.speed)

    def moment_of(self, hour: float) -> datetime:
        """The exercise time at exercise hour ``hour``."""
        return self.started_at + timedelta(hours=hour)
