"""`incident-svc audit verify` and `audit checkpoint`: the chain and its witnesses outside it."""

from __future__ import annotations

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_json
from incident_svc.cli.runtime import with_db
from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.runtime import wiring
from incident_svc.services.auditlog import audit_checkpoints, audit_key, audit_verify

CHECKPOINTS_OPTION = typer.Option(
    [],
    "--checkpoints",
    metavar="FILE|URL",
    help="Also check the checkpoints in FILE or at URL (a /v1/audit/checkpoints feed); "
    "may be given more than once.",
)


def verify(
    ctx: typer.Context,
    checkpoints: list[str] = CHECKPOINTS_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Check the whole chain, then that it still holds every checkpoint of every witness.

    Exit 0 when intact; exit 1 naming the first broken sequence number or the first
    checkpoint the chain no longer holds.
    """

    async def work(settings: Settings) -> audit_verify.Report:
        return await audit_verify.verify(settings, extra=checkpoints)

    report = with_db(ctx, work)
    if json_output:
        print_json(_as_json(report))
    else:
        for line in _lines(report):
            console.print(line, markup=False)
    if not report.intact:
        raise typer.Exit(1)


def _lines(report: audit_verify.Report) -> list[str]:
    verdict, lines = report.verdict, []
    if verdict.intact:
        lines.append(
            f"audit chain intact: {verdict.checked} events, head {verdict.head_hash[:16]}…"
        )
    else:
        lines.append(
            f"audit chain BROKEN at sequence {verdict.first_bad_seq}: {verdict.problem} "
            f"({verdict.checked} events before it verified)"
        )
    lines.append(f"key: {report.key_source}")
    lines.append(_witness_line(report))
    return lines


def _witness_line(report: audit_verify.Report) -> str:
    witnesses, mismatch = report.witnesses, report.mismatch
    if witnesses.bad is not None:
        where, why = witnesses.bad
        return f"checkpoint witness BROKEN at {where}: {why}"
    if mismatch is not None:
        point = mismatch.checkpoint
        return (
            f"audit chain BROKEN at checkpoint sequence {point.seq} ({mismatch.where}, "
            f"taken {point.at}): {mismatch.problem}"
        )
    if not witnesses.points:
        return (
            "checkpoints: none found, so only the chain's own consistency was checked "
            "(see `incident-svc audit checkpoint`)"
        )
    latest = max(point.seq for _, point in witnesses.points)
    return (
        f"checkpoints: all {len(witnesses.points)} held (latest at sequence {latest}; "
        f"from {', '.join(witnesses.sources)})"
    )


def _as_json(report: audit_verify.Report) -> dict[str, object]:
    mismatch = report.mismatch
    return {
        **report.verdict.__dict__,
        "intact": report.intact,
        "chain_intact": report.verdict.intact,
        "key_source": report.key_source,
        "keyed": report.keyed,
        "checkpoints": {
            "sources": report.witnesses.sources,
            "checked": len(report.witnesses.points),
            "malformed": dict(zip(("where", "problem"), report.witnesses.bad, strict=True))
            if report.witnesses.bad
            else None,
            "first_mismatch": {
                "where": mismatch.where,
                "problem": mismatch.problem,
                **mismatch.checkpoint.as_dict(),
            }
            if mismatch
            else None,
        },
    }


def checkpoint(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """Write the chain's sequence number and head hash, signed with the key, to every witness.

    Witnesses: the local file (audit.checkpoint_file), the security team's mailbox when
    audit.checkpoint_by_email is on, and the /v1/audit/checkpoints feed that publishes the
    file. Exit 1 when a witness could not take it (the others still did).
    """

    async def work(settings: Settings) -> audit_checkpoints.Taken:
        key = audit_key.resolve(settings).key
        if not settings.audit.checkpoint_by_email:
            return await audit_checkpoints.take(settings, key=key, now=utcnow(), send=None)
        async with wiring.smtp_pool(settings) as pool:
            return await audit_checkpoints.take(
                settings, key=key, now=utcnow(), send=wiring.team_mail(pool)
            )

    taken = with_db(ctx, work)
    point = taken.checkpoint
    if json_output:
        print_json({"checkpoint": point.as_dict(), "witnesses": taken.witnesses})
    else:
        console.print(
            f"checkpoint at sequence {point.seq}, head {point.head[:16]}…, {point.at}",
            markup=False,
        )
        for name, why in taken.witnesses.items():
            console.print(f"  {name}: {'FAILED: ' + why if why else 'ok'}", markup=False)
        if not taken.witnesses:
            console.print("  no witness is configured (see [audit] in the config)", markup=False)
    if taken.failed or not taken.witnesses:
        raise typer.Exit(1)
