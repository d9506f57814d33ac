"""Time rules: inputs must carry an offset; everything is stored in UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime


def parse_aware(text: str, *, field: str = "time") -> datetime:
    """Parse ISO 8601 with an offset (``2026-11-28T09:00:00+08:00`` or ``...Z``) into UTC.

    Naive times are refused: on the day of an incident nobody should have to guess whose
    09:00 was meant.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{field}: {text!r} is not an ISO 8601 time (example: 2026-11-28T09:00:00+00:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{field}: {text!r} has no UTC offset; add one, e.g. {text.strip()}+00:00 or Z"
        )
    return moment.astimezone(UTC)


def _system_now() -> datetime:
    return datetime.now(UTC)


# What "now" means for the code running in this context: the system clock, or an exercise's
# accelerated clock (domain/exercise_clock.py) installed by `use_clock` around one command.
# A context variable, not a global: two tasks, tests or exercises never see each other's clock.
_CLOCK: ContextVar[Callable[[], datetime]] = ContextVar("incident_svc_clock", default=_system_now)


def utcnow() -> datetime:
    """Now, in UTC, on the clock of the current context (the system clock unless an exercise
    installed its own)."""
    return _CLOCK.get()()


def real_time(moment: datetime) -> datetime:
    """The real moment at which the current clock shows ``moment`` (for timers such as the
    scheduler's, which wait on the real clock); ``moment`` itself on the system clock."""
    clock = _CLOCK.get()
    to_real = getattr(clock, "real_at", None)
    return moment if to_real is None else to_real(moment)  # type: ignore[no-any-return]


@contextmanager
def use_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Read ``utcnow()`` from ``clock`` inside the block (and in tasks started inside it)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)
