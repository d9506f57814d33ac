"""Creating (and approving) a `--audience new` campaign against `--audience all`, in one run.

    python -m bench.audience_bench --exposures 1000000 --reached 900000 [--backend postgres]

An incident with N exposures whose first R people were already sent the notice (a completed
campaign with R accepted deliveries), then ANALYZE. Each round creates a draft with
`--audience all` and one with `--audience new` (creation counts every group of the affected
list and the chosen audience), then approves both (approval freezes the chosen list into
``campaign_recipient`` and hashes it); the order of the two alternates from round to round,
so that neither always runs right after the other's million-row freeze. Medians of
``--repeat`` rounds and the ratio new / all are printed (the issue's target: <= 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tortoise import connections

from bench.delivery_seed import seed
from incident_svc import db
from incident_svc.config import load_settings
from incident_svc.db import dialect
from incident_svc.domain.approval import ApprovalPolicy
from incident_svc.domain.enums import CampaignStatus, NoticeKind
from incident_svc.models import Campaign
from incident_svc.services.delivery import campaigns

PG_ADMIN = os.environ.get("INCIDENT_SVC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
POLICY = ApprovalPolicy(required=False, source="bench")
SETTINGS = load_settings(overrides={"approval": {"required": False}})
REF = "INC-2026-9999"

_SENT = """INSERT INTO delivery (campaign_id, recipient_ref, channel, subject_id, address, locale,
    status, attempts, next_attempt_at, sent_at, content_hash, updated_at)
SELECT {campaign}, s.external_ref, 'email', s.id, s.email, s.locale, 'sent', 1, {now}, {now},
       '{digest}', {now}
FROM subject s WHERE s.id <= (SELECT min(id) FROM subject) + {reached} - 1"""


async def reach(incident_id: int, reached: int) -> None:
    """A completed first notice that was accepted for the first ``reached`` people."""
    first = await Campaign.create(
        incident_id=incident_id, kind=NoticeKind.SUBJECT_NOTICE, channels=["email"],
        status=CampaignStatus.COMPLETED, created_by="bench", approval_required=False,
    )  # fmt: skip
    conn = connections.get("default")
    now = "'2026-11-28 00:00:00+00:00'" if dialect(conn) == "sqlite" else "now()"
    sql = _SENT.format(campaign=first.id, now=now, digest="0" * 64, reached=reached)
    await conn.execute_script(sql)


async def create(audience: str) -> tuple[float, int]:
    """Seconds to create a draft for ``audience``, and its id."""
    started = time.perf_counter()
    campaign = await campaigns.create(
        incident_ref=REF, kind="subject_notice", at=None, actor="bench", key=None,
        approval=POLICY, audience=audience,
    )  # fmt: skip
    return time.perf_counter() - started, campaign.id


async def approve(campaign_id: int) -> tuple[float, int]:
    """Seconds to approve the draft (freeze and hash its audience), and its size."""
    started = time.perf_counter()
    approved = await campaigns.approve(
        campaign_id=campaign_id, actor="bench", key=None, settings=SETTINGS
    )
    return time.perf_counter() - started, approved.audience_count


async def one_round(order: tuple[str, ...]) -> dict[str, tuple[float, float, int]]:
    drafts = {audience: await create(audience) for audience in order}
    approved = {audience: await approve(drafts[audience][1]) for audience in order}
    return {a: (drafts[a][0], approved[a][0], approved[a][1]) for a in order}


async def run(url: str, exposures: int, reached: int, repeat: int) -> None:
    await db.open_database(url)
    try:
        await db.upgrade()
        started = time.perf_counter()
        incident_id = await seed(exposures)
        await reach(incident_id, reached)
        await connections.get("default").execute_script("ANALYZE")
        print(
            f"  seeded {exposures:,} exposures, {reached:,} reached in {time.perf_counter() - started:.1f} s"
        )
        times: dict[str, list[tuple[float, float]]] = {"all": [], "new": []}
        sizes: dict[str, int] = {}
        for n in range(repeat):
            done = await one_round(("all", "new") if n % 2 == 0 else ("new", "all"))
            for audience, (created, approved, size) in done.items():
                times[audience].append((created, approved))
                sizes[audience] = size
        # the setup the issue names: `all` freezes every exposure, `new` the ones not reached
        assert sizes == {"all": exposures, "new": exposures - reached}, sizes
        _report(times, sizes)
    finally:
        await db.close_database()


def _report(times: dict[str, list[tuple[float, float]]], sizes: dict[str, int]) -> None:
    totals = {}
    for audience, runs in times.items():
        create = statistics.median(r[0] for r in runs)
        approve = statistics.median(r[1] for r in runs)
        totals[audience] = (create, statistics.median(r[0] + r[1] for r in runs))
        print(
            f"  --audience {audience:<3}: {sizes[audience]:>9,} recipients; create median "
            f"{create:.2f} s, approve (freeze + hash) {approve:.2f} s  (runs create+approve: "
            + ", ".join(f"{r[0] + r[1]:.2f}" for r in runs)
            + ")"
        )
    ratio = totals["new"][0] / totals["all"][0]
    print(
        f"  ratio new / all: create {ratio:.2f}x, "
        f"create + approve {totals['new'][1] / totals['all'][1]:.2f}x "
        f"(target <= 2x: {'met' if ratio <= 2 else 'NOT met'})"
    )


def _pg_admin(statement: str) -> None:
    import asyncpg

    async def main() -> None:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audience_bench")
    parser.add_argument("--exposures", type=int, default=100_000, help="the issue asks for 1000000")
    parser.add_argument("--reached", type=int, default=None, help="default: 90%% of --exposures")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgres"))
    args = parser.parse_args(argv or [])
    reached = args.reached if args.reached is not None else args.exposures * 9 // 10
    print(
        f"-- {args.backend}: {args.exposures:,} exposures, {reached:,} reached, repeat {args.repeat}"
        f" ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}, shared)"
    )
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
            asyncio.run(run(url, args.exposures, reached, args.repeat))
        return
    name = f"incsvc_bench_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
        asyncio.run(run(url, args.exposures, reached, args.repeat))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(sys.argv[1:])
