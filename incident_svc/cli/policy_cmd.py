"""`incident-svc policy`: publish a privacy-policy version; when it binds each person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.campaign_args import SIGN_WITH_OPTION
from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json, print_table
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.domain.times import utcnow
from incident_svc.errors import ValidationError
from incident_svc.services.delivery import approvers
from incident_svc.services.files.export_file import check_target
from incident_svc.services.incident.affected_export import export_format
from incident_svc.services.policy_change import policy, policy_report

app = typer.Typer(
    help="Privacy-policy changes: publish a version, and see when it binds each person.",
    no_args_is_help=True,
)


@app.command()
def publish(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="The version label, e.g. 2026-12 or v4.1."),
    document: Path = typer.Option(..., "--document", help="The full policy text (hashed)."),
    locales: list[str] = typer.Option([], "--locale", help="Locale of the next --summary."),
    summaries: list[Path] = typer.Option([], "--summary", help="What changes, in that locale."),
    material: bool = typer.Option(
        ..., "--material/--minor", help="A material change is announced; a minor one recorded."
    ),
    url: str | None = typer.Option(None, "--url", help="Where people read the full policy."),
    sign_with: Path | None = SIGN_WITH_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Record a policy version: the document's SHA-256, a summary per locale, material or not.

    A material change also posts a prominent public banner (its first serve is the proof of
    posting that starts the 30-day clock) and creates two draft e-mail campaigns, to every
    person and to every account holder there was at publication; a second person approves
    each (`campaign approve ID`), then `campaign schedule ID` or `campaign send ID --now`.

    Example: incident-svc policy publish 2026-12 --document policy.pdf --material \\
        --url https://www.example.com/privacy --locale en --summary en.txt \\
        --locale zh-Hant --summary zh.txt
    """
    if len(locales) != len(summaries):
        raise ValidationError(
            f"give one --locale for each --summary ({len(locales)} locales, "
            f"{len(summaries)} summaries)",
            field="locale",
        )
    request = policy.PublishRequest(version, document, list(zip(locales, summaries, strict=True)),
                                    material, url)  # fmt: skip
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        if material and settings.approval.mode == "signed" and sign_with is None:
            raise ValidationError(
                'approval.mode is "signed": the publisher signs the campaigns\' creation; '
                "give --sign-with KEY",
                field="--sign-with",
            )
        signed = None
        if sign_with is not None:
            text = policy.creation_text(request.version)
            signed = (text, await approvers.sign(text, sign_with))
        published = await policy.publish(
            request=request, actor=actor, key=hmac_key(settings), settings=settings, signed=signed
        )
        return {
            "version": published.version,
            "material": published.material,
            "document_sha256": published.document_sha256,
            "locales": sorted(published.summaries),
            "banner": published.banner_id,
            "published_at": published.published_at,
            "published_by": published.published_by,
            "campaigns": getattr(published, "campaign_ids", []),
        }

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
        return
    kind = "material" if detail["material"] else "minor"
    extra = f", public banner {detail['banner']}" if detail["banner"] else ""
    if detail["campaigns"]:
        ids = ", ".join(str(i) for i in detail["campaigns"])
        extra += f", draft e-mail campaigns {ids} (approve each: campaign approve ID)"
    console.print(f"published policy {detail['version']} ({kind}){extra}", markup=False)


@app.command("effective-date")
def effective_date(
    ctx: typer.Context,
    version: str = typer.Argument(...),
    subject: str = typer.Option(..., "--subject", help="A subject's or account's reference."),
    json_output: bool = JSON_OPTION,
) -> None:
    """When the version binds one person, and the evidence behind the date.

    Example: incident-svc policy effective-date 2026-12 --subject S-00042
    """

    async def work(settings: Settings) -> list[dict[str, Any]]:
        found = await policy_report.effective_date(version=version, subject_ref=subject)
        return [p.row() for p in found]

    rows = with_db(ctx, work)
    if json_output:
        print_json(rows)
        return
    for row in rows:
        print_fields(row)


@app.command()
def status(
    ctx: typer.Context, version: str = typer.Argument(...), json_output: bool = JSON_OPTION
) -> None:
    """How many people the version binds now, and when the rest will be bound.

    Example: incident-svc policy status 2026-12
    """

    async def work(settings: Settings) -> dict[str, Any]:
        return await policy_report.status(version=version, now=utcnow())

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
        return
    by_basis = detail.pop("by_basis")
    print_fields(detail)
    print_table([{"basis": k, "people": v} for k, v in by_basis.items()], ["basis", "people"])


@app.command()
def export(
    ctx: typer.Context,
    version: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="A new .csv or .jsonl file."),
    fmt: str | None = typer.Option(None, "--format", help="csv or jsonl."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write one row per person: the evidence and the effective date.

    Example: incident-svc policy export 2026-12 --out policy-2026-12.csv
    """
    export_format(out, fmt)
    check_target(out, force=force)  # refused before any work

    async def work(settings: Settings) -> int:
        return await policy_report.export(version=version, path=out, fmt=fmt, force=force)

    written = with_db(ctx, work)
    console.print(f"wrote {written} rows to {out}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="policy")
