"""What the exercise clock costs the code that reads "now" (domain/times.utcnow).

`utcnow()` became a context-variable lookup plus a call, so that an exercise can install its
accelerated clock around one command. Baseline, measured in the same run: the
`datetime.now(UTC)` it used to be. Prints nanoseconds per call and the ratio, median of
--repeat runs.

    .venv/bin/python -m bench.exercise_clock_bench --calls 200000 --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from incident_svc.domain.exercise_clock import ExerciseClock
from incident_svc.domain.times import use_clock, utcnow


def _per_call(read: Callable[[], datetime], calls: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(calls):
        read()
    return (time.perf_counter_ns() - started) / calls


def _baseline() -> datetime:
    return datetime.now(UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv or [])
    clock = ExerciseClock(started_at=datetime.now(UTC), speed=3600.0)
    rows: dict[str, list[float]] = {"datetime.now(UTC)": [], "utcnow()": [], "exercise": []}
    for _ in range(args.repeat):
        rows["datetime.now(UTC)"].append(_per_call(_baseline, args.calls))
        rows["utcnow()"].append(_per_call(utcnow, args.calls))
        with use_clock(clock):
            rows["exercise"].append(_per_call(utcnow, args.calls))
    base = statistics.median(rows["datetime.now(UTC)"])
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"{name:>20}: median {median:7.0f} ns/call, {median / base:4.2f}x the baseline")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
