"""`incident-svc disclosure`: record a disclosure to an authority; hold, review and release
the notices its people are owed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from incident_svc.cli.campaign_args import SIGN_WITH_OPTION
from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.errors import ValidationError
from incident_svc.services.delivery import approvers
from incident_svc.services.disclosure import disclosures

app = typer.Typer(
    help="Disclosures to authorities: record one; its notices are held while non-disclosure "
    "applies and go out once it ends and counsel approved.",
    no_args_is_help=True,
)
REF_ARG = typer.Argument(..., metavar="REF", help="The disclosure, e.g. DIS-2026-0001.")


def _print(detail: dict[str, Any], json_output: bool, line: str) -> None:
    if json_output:
        print_json(detail)
    else:
        console.print(line, markup=False)


@app.command()
def record(
    ctx: typer.Context,
    authority: str = typer.Option(..., "--authority", help="Who the data went to."),
    legal_basis: str = typer.Option(..., "--legal-basis", help="The order, warrant or law."),
    received_at: datetime = typer.Option(..., "--received-at", parser=aware_time),
    subjects: Path = typer.Option(..., "--subjects", help="Subject references, one a line."),
    categories: list[str] = typer.Option(..., "--categories", help="Data categories disclosed."),
    withheld: list[str] = typer.Option(
        [],
        "--withhold",
        help="A part counsel withholds from the notice: authority, "
        "legal_basis, received_at or categories.",
    ),
    until: datetime | None = typer.Option(None, "--non-disclosure-until", parser=aware_time),
    indefinite: bool = typer.Option(False, "--non-disclosure-indefinite"),
    sign_with: Path | None = SIGN_WITH_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Record a disclosure and a held notice for each person named.

    Example: incident-svc disclosure record --authority "HK Police" --legal-basis "Warrant
    123/2026" --received-at 2026-11-02T10:00:00+08:00 --subjects people.txt
    --categories contact,call_detail_records --non-disclosure-until 2027-05-02T00:00:00+08:00
    """
    request = disclosures.RecordRequest(
        authority, legal_basis, received_at, subjects, categories, withheld, until, indefinite
    )
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        if settings.approval.mode == "signed" and sign_with is None:
            raise ValidationError(
                'approval.mode is "signed": the recorder signs too; give --sign-with KEY',
                field="--sign-with",
            )
        signed = None
        if sign_with is not None:
            text = approvers.new_creation_text("disclosure", disclosures.RECORD_KIND)
            signed = (text, await approvers.sign(text, sign_with))
        done = await disclosures.record(
            request=request, actor=actor, key=hmac_key(settings), settings=settings, signed=signed
        )
        return disclosures.view(done)

    detail = with_db(ctx, work)
    _print(detail, json_output, f"recorded {detail['ref']}: {detail['people']} notice(s) held")


@app.command("release-text")
def release_text(ctx: typer.Context, ref: str = REF_ARG) -> None:
    """Print the text counsel signs to approve the release (ssh-keygen -Y sign)."""

    async def work(settings: Settings) -> str:
        return disclosures.release_text(await disclosures.get(ref))

    print(with_db(ctx, work), end="")


@app.command("approve-release")
def approve_release(
    ctx: typer.Context,
    ref: str = REF_ARG,
    signature: Path | None = typer.Option(None, "--signature", dir_okay=False),
    sign_with: Path | None = SIGN_WITH_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Counsel approves telling the people (four-eyes: not who recorded it). The service
    releases the notices once no non-disclosure period runs."""
    if signature is not None and sign_with is not None:
        raise ValidationError("give --signature or --sign-with, not both", field="signature")
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        proof = approvers.read_signature(signature) if signature is not None else None
        if sign_with is not None:
            text = disclosures.release_text(await disclosures.get(ref))
            proof = await approvers.sign(text, sign_with)
        done = await disclosures.approve_release(
            ref=ref, actor=actor, key=hmac_key(settings), settings=settings, signature=proof
        )
        return disclosures.view(done)

    _print(with_db(ctx, work), json_output, f"release of {ref} approved")


@app.command("confirm-hold")
def confirm_hold(
    ctx: typer.Context,
    ref: str = REF_ARG,
    reason: str = typer.Option(..., "--reason"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Confirm that an indefinite non-disclosure still applies (audited; next review set)."""
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        done = await disclosures.confirm_hold(
            ref=ref, reason=reason, actor=actor, key=hmac_key(settings), settings=settings
        )
        return disclosures.view(done)

    detail = with_db(ctx, work)
    _print(detail, json_output, f"hold on {ref} confirmed; next review {detail['next_review_at']}")


@app.command("end-hold")
def end_hold(
    ctx: typer.Context,
    ref: str = REF_ARG,
    reason: str = typer.Option(..., "--reason"),
    json_output: bool = JSON_OPTION,
) -> None:
    """An indefinite non-disclosure was lifted: the notices may go out once approved."""
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        done = await disclosures.end_hold(
            ref=ref, reason=reason, actor=actor, key=hmac_key(settings)
        )
        return disclosures.view(done)

    _print(with_db(ctx, work), json_output, f"hold on {ref} ended")


@app.command()
def show(ctx: typer.Context, ref: str = REF_ARG, json_output: bool = JSON_OPTION) -> None:
    """One disclosure: what, to whom, when, on what basis, its hold and its release."""

    async def work(settings: Settings) -> dict[str, Any]:
        return disclosures.view(await disclosures.get(ref))

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
    else:
        print_fields(detail)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="disclosure")
