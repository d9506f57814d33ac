"""Run every benchmark module named in BENCHMARKS, or those given on the command line."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS: list[str] = [
    "feed_bench",
    "serve",
    "delivery_bench",
    "mime_bench",
    "import_bench",
    "resolve_bench",
    "audience_bench",
    "obligations_bench",
    "bounce_bench",
    "retention_bench",
    "exercise_clock_bench",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    if not names:
        print("no benchmarks yet")
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
