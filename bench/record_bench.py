"""Recording cost alone: ``outbox.record`` of claimed deliveries in groups, on SQLite or PostgreSQL.

``python -m bench.record_bench --rows 20000 --group 40 [--url postgres://...]`` claims every
delivery of a seeded campaign, then records them as accepted in groups of ``--group``
(the size of one group commit); prints microseconds per recorded outcome (CPU of the
process and wall clock), the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time

from bench.delivery_seed import seed, sqlite_url
from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.domain.approval import ApprovalPolicy
from incident_svc.domain.enums import AttemptOutcome
from incident_svc.domain.retry import RetryPolicy
from incident_svc.domain.times import utcnow
from incident_svc.services.delivery import campaign_start, campaigns, leases, outbox

BENCH_POLICY = ApprovalPolicy(required=False, source="bench")


async def one_run(url: str, rows: int, group: int) -> tuple[float, float]:
    await db.open_database(url)
    try:
        await db.upgrade()
        await seed(rows)
        campaign = await campaigns.create(
            incident_ref="INC-2026-9999",
            kind="subject_notice",
            at=None,
            actor="bench",
            key=None,
            approval=BENCH_POLICY,
        )
        await campaign_start.start(
            campaign_id=campaign.id,
            now=utcnow(),
            actor="bench",
            key=None,
            settings=load_settings(overrides={"approval": {"required": False}}),
        )
        claimed = await leases.claim(
            campaign_id=campaign.id, worker_id="w", now=utcnow(), limit=rows,
            lease_seconds=600, message_id_token="t", message_id_domain="bench.example",
        )  # fmt: skip
        context = outbox.BatchContext(
            campaign.id, "INC-2026-9999", "w", "bench", RetryPolicy(5, 60, 3600), None
        )
        reply = "250 2.0.0 Ok: queued as ABC123"
        accepted = AttemptOutcome.ACCEPTED
        outcomes = [
            outbox.Outcome(c.delivery_id, 1, accepted, 250, reply, "0" * 64, c.subject_id)
            for c in claimed
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(outcomes), group):
            await outbox.record(context, outcomes[i : i + group], now=utcnow())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return cpu / len(outcomes) * 1e6, wall / len(outcomes) * 1e6
    finally:
        await db.close_database()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.record_bench")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--group", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", default=None, help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as directory:
            url = args.url or sqlite_url(directory)
            runs.append(asyncio.run(one_run(url, args.rows, args.group)))
    cpus, walls = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    print(
        f"record {args.rows} outcomes in groups of {args.group}: median CPU {cpus[len(cpus) // 2]:.1f} us"
        f"/outcome, wall {walls[len(walls) // 2]:.1f} us/outcome (runs CPU "
        + ", ".join(f"{c:.1f}" for c in (r[0] for r in runs))
        + ")"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
