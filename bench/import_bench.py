"""Inventory import speed and memory vs a plain executemany of the same rows, on SQLite.

    python -m bench.import_bench --subjects 1000000 [--accounts 5000] [--repeat 3]

Generates accounts.csv, subjects.csv and holdings.csv (3 holdings a subject;
bench/inventory_data.py), then for each kind runs, each in a fresh child process so that
peak memory is its own: (a) the baseline, csv.reader rows into a plain table with one
executemany in one transaction (no validation, no constraints); (b) the real import
(`import_file`, validation on, worker processes for large files). Prints rows per second,
the ratio import/baseline, and the peak RSS of the importing process and of its workers.
With ``--repeat N`` each kind is imported N times, each time into a copy of the database as
it was before that kind (baseline and import alternate), and the medians are printed: this
machine's speed changes by up to 2x from one minute to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.inventory_data import write_files

KINDS = ("accounts", "subjects", "holdings")
TARGETS = {"accounts": 100_000, "subjects": 25_000, "holdings": 100_000}


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(own, 1), round(children, 1)


def child_baseline(kind: str, path: Path, database: Path) -> dict[str, float]:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        conn.execute(f"CREATE TABLE plain_{kind} ({', '.join(f'{c} TEXT' for c in header)})")
        marks = ", ".join("?" for _ in header)
        conn.execute("BEGIN")
        rows = 0
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) == 10_000:
                conn.executemany(f"INSERT INTO plain_{kind} VALUES ({marks})", batch)
                rows += len(batch)
                batch = []
        conn.executemany(f"INSERT INTO plain_{kind} VALUES ({marks})", batch)
        rows += len(batch)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    own, children = _peak_mb()
    return {"seconds": seconds, "rows": rows, "peak_mb": own, "workers_peak_mb": children}


def child_import(kind: str, path: Path, database: Path) -> dict[str, float]:
    from incident_svc import db
    from incident_svc.services.inventory.importer import import_file

    async def main() -> dict[str, float]:
        await db.open_database(f"sqlite://{database}")
        try:
            started = time.perf_counter()
            result = await import_file(kind=kind, path=path, actor="bench", key=None)
            seconds = time.perf_counter() - started
        finally:
            await db.close_database()
        assert result.rejected == 0 and result.inserted == result.rows, result
        return {"seconds": seconds, "rows": result.rows}

    data = asyncio.run(main())
    own, children = _peak_mb()
    return {**data, "peak_mb": own, "workers_peak_mb": children}


def _migrate(database: Path) -> None:
    from incident_svc import db

    async def main() -> None:
        await db.open_database(f"sqlite://{database}")
        try:
            await db.upgrade()
        finally:
            await db.close_database()

    asyncio.run(main())


def _child(mode: str, kind: str, path: Path, database: Path) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.import_bench",
            "--child",
            mode,
            kind,
            str(path),
            str(database),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(subjects: int, accounts: int, repeat: int) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared)")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        files = write_files(Path(folder), subjects, accounts)
        print(f"  generated files in {time.perf_counter() - started:.1f} s")
        database = Path(folder) / "bench.sqlite3"
        _migrate(database)
        for kind in KINDS:
            runs = []
            for n in range(repeat):
                plain = Path(folder) / "plain.sqlite3"
                plain.unlink(missing_ok=True)
                base = _child("baseline", kind, files[kind], plain)
                target = Path(folder) / f"{kind}-{n}.sqlite3"
                shutil.copyfile(database, target)  # the database before this kind, every time
                mine = _child("import", kind, files[kind], target)
                runs.append((base, mine))
                if repeat > 1:
                    print(
                        f"    {kind} run {n + 1}: {mine['rows'] / mine['seconds']:,.0f} rows/s, "
                        f"plain {base['rows'] / base['seconds']:,.0f} rows/s, "
                        f"ratio {mine['seconds'] / base['seconds']:.1f}x, "
                        f"load {os.getloadavg()[0]:.2f}"
                    )
                if n < repeat - 1:
                    target.unlink()
            target.replace(database)  # the next kind builds on this one
            _report(kind, runs)


def _report(kind: str, runs: list[tuple[dict[str, float], dict[str, float]]]) -> None:
    rows = runs[0][1]["rows"]
    seconds = statistics.median(mine["seconds"] for _, mine in runs)
    plain = statistics.median(base["seconds"] for base, _ in runs)
    ratio = statistics.median(mine["seconds"] / base["seconds"] for base, mine in runs)
    rate = rows / seconds
    verdict = "ok" if rate >= TARGETS[kind] else "BELOW target"
    median = f"median of {len(runs)}: " if len(runs) > 1 else ""
    print(
        f"  {kind}: {int(rows):,} rows; {median}import {seconds:.2f} s = "
        f"{rate:,.0f} rows/s (target {TARGETS[kind]:,}: {verdict}); "
        f"plain executemany {plain:.2f} s = {rows / plain:,.0f} rows/s; "
        f"ratio import/plain {ratio:.1f}x; "
        f"peak RSS {max(m['peak_mb'] for _, m in runs):.0f} MB "
        f"(workers {max(m['workers_peak_mb'] for _, m in runs):.0f} MB each at most; "
        f"plain {max(b['peak_mb'] for b, _ in runs):.0f} MB)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench")
    parser.add_argument("--subjects", type=int, default=100_000, help="the issue asks for 1000000")
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="imports of each kind; medians are printed"
    )
    parser.add_argument("--child", nargs=4, metavar=("MODE", "KIND", "FILE", "DB"))
    args = parser.parse_args(argv or [])
    if args.child:
        mode, kind, path, database = args.child
        work = child_baseline if mode == "baseline" else child_import
        print(json.dumps(work(kind, Path(path), Path(database))))
        return
    run(args.subjects, args.accounts, args.repeat)


if __name__ == "__main__":
    main(sys.argv[1:])
