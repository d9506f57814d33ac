"""What the `campaign` commands share: the id argument, the signing option, running a verb."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer

from incident_svc.cli.output import console, print_fields, print_json
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.domain.enums import CampaignStatus

T = TypeVar("T")

ID_ARG = typer.Argument(
    ..., help="The campaign's id (from `campaign create --json` or `campaign list`)."
)
FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)
SIGN_WITH_OPTION = typer.Option(
    None,
    "--sign-with",
    dir_okay=False,
    help="Sign with this SSH key (private key, or public key of one in ssh-agent) through "
    "ssh-keygen -Y sign; needed when approval.mode is signed.",
)


def run(ctx: typer.Context, work: Callable[[Settings, str, bytes | None], Awaitable[T]]) -> T:
    """Run ``work`` with the settings, the operator's name and the audit key, on the database."""
    actor = state(ctx).actor

    async def call(settings: Settings) -> T:
        return await work(settings, actor, hmac_key(settings))

    return with_db(ctx, call)


def print_campaign(data: dict[str, Any], json_output: bool, headline: str | None = None) -> None:
    if json_output:
        print_json(data)
        return
    if headline:
        console.print(headline, markup=False)
    print_fields(
        {k: v for k, v in data.items() if k not in ("audience_groups", "audience_by_rule")}
    )
