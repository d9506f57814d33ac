"""Banner feed throughput against a static file of the same size, on the same server stack.

A uvicorn process serves the feed app (a SQLite database with two public banners) plus, on
the same Starlette app and middleware, ``/bench/static.json``: a file with exactly the bytes
of the feed's answer (Starlette's StaticFiles, the baseline), and ``/bench/constant.json``:
the same bytes from memory, the cheapest answer this stack can give (for reference). wrk (Debian's package), in a process of its own, drives each path in
turn at 100 connections; we print requests per second, p50 and p99 latency, and ratios
against the static file measured in the same run.

    python -m bench feed_bench                      # short: 5 s per scenario
    python -m bench.feed_bench --seconds 10 --rounds 3   # the full run (medians of 3)
    python -m bench.feed_bench --connections 200 --threads 2

Goals (issue 7): feed >= 0.8 x static; 304 path >= 1.0 x static.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CONNECTIONS = 100


@dataclass(frozen=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed(database_url: str) -> None:
    from incident_svc import db
    from incident_svc.config import load_settings
    from incident_svc.domain.enums import BannerAudience, BannerSeverity, Severity
    from incident_svc.models import Incident
    from incident_svc.services.website import banners

    await db.open_database(database_url)
    try:
        await db.upgrade()
        await Incident.create(
            ref="INC-2026-0001",
            title="Billing system intrusion",
            summary="Someone read billing addresses.",
            severity=Severity.HIGH,
            discovered_at=datetime(2026, 11, 27, tzinfo=UTC),
            created_by="bench",
        )
        settings = load_settings(overrides={"database_url": database_url})
        for severity in (BannerSeverity.CRITICAL, BannerSeverity.INFO):
            request = banners.PublishRequest(
                "INC-2026-0001", BannerAudience.PUBLIC, severity=severity, link="https://x.test/n"
            )
            await banners.publish(request=request, actor="bench", settings=settings, key=None)
    finally:
        await db.close_database()


def _serve(database_url: str, static_dir: str, port: int) -> None:
    """The server process: the feed app plus a static file route, one uvicorn worker."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from incident_svc.config import load_settings
    from incident_svc.web.app import create_app

    settings = load_settings(overrides={"database_url": database_url})
    cached: list[bytes] = []

    async def constant(request: Request) -> Response:
        # the cheapest possible answer on this stack: fixed bytes already in memory
        if not cached:
            cached.append((Path(static_dir) / "static.json").read_bytes())
        return Response(cached[0], media_type="application/json")

    routes = [
        Route("/bench/constant.json", constant),
        Mount("/bench", app=StaticFiles(directory=static_dir)),
    ]
    app = create_app(settings=settings, extra_routes=routes)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the feed server did not answer at {url}")


def _fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read(), response.headers["ETag"]


def _wrk(name: str, url: str, args: argparse.Namespace, headers: list[str]) -> Result:
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
        *(part for header in headers for part in ("-H", header)), url,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return Result(
        name=name,
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_millis(_find(r"\s50%\s+([\d.]+\w+)", out)),
        p99_ms=_millis(_find(r"\s99%\s+([\d.]+\w+)", out)),
        non_2xx_3xx=int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", out, "0")),
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match is None:
        if default is not None:
            return default
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return match.group(1)


def _millis(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(args: argparse.Namespace) -> list[Result]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (see .ci/system-packages)")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite://{tmp}/bench.sqlite3"
        asyncio.run(_seed(database_url))
        static_dir = Path(tmp) / "static"
        static_dir.mkdir()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(database_url, str(static_dir), port), daemon=True
        )
        server.start()
        try:
            _wait_until_up(f"{base}/v1/banners")
            return _scenarios(base, static_dir, args)
        finally:
            server.terminate()
            server.join(10)


def _scenarios(base: str, static_dir: Path, args: argparse.Namespace) -> list[Result]:
    body, etag = _fetch(f"{base}/v1/banners")
    (static_dir / "static.json").write_bytes(body)  # the same bytes, served as a file
    _, static_etag = _fetch(f"{base}/bench/static.json")
    print(f"answer size {len(body)} bytes; {args.connections} connections, {args.threads} wrk "
          f"threads, {args.seconds}s per scenario, {args.rounds} round(s), medians shown")  # fmt: skip
    scenarios = [
        ("static file", f"{base}/bench/static.json", []),
        ("feed (200)", f"{base}/v1/banners", []),
        ("feed (304)", f"{base}/v1/banners", [f"If-None-Match: {etag}"]),
        ("static file (304)", f"{base}/bench/static.json", [f"If-None-Match: {static_etag}"]),
        ("in-memory bytes", f"{base}/bench/constant.json", []),
    ]
    rounds: dict[str, list[Result]] = {name: [] for name, _, _ in scenarios}
    for _ in range(args.rounds):  # interleaved, so that a burst of load hits every scenario
        for name, url, headers in scenarios:
            rounds[name].append(_wrk(name, url, args, headers))
    return [_median(name, results) for name, results in rounds.items()]


def _median(name: str, results: list[Result]) -> Result:
    return Result(
        name=name,
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
    )


def report(results: list[Result]) -> None:
    baseline = results[0].rps
    print(f"{'scenario':<20}{'req/s':>10}{'x static':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for r in results:
        print(f"{r.name:<20}{r.rps:>10.0f}{r.rps / baseline:>10.2f}{r.p50_ms:>10.2f}"
              f"{r.p99_ms:>10.2f}{r.non_2xx_3xx:>8}")  # fmt: skip
    feed, not_modified = results[1].rps / baseline, results[2].rps / baseline
    print(f"goal feed >= 0.80 x static: {'met' if feed >= 0.8 else 'NOT met'} ({feed:.2f}); "
          f"goal 304 >= 1.00 x static: {'met' if not_modified >= 1.0 else 'NOT met'} "
          f"({not_modified:.2f})")  # fmt: skip


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.feed_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seconds", type=int, default=5, help="per scenario (full run: 30)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report medians (full: 3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    report(run(parse(argv or [])))


if __name__ == "__main__":
    main(sys.argv[1:])
