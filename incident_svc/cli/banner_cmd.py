"""`incident-svc banner`: publish, list, show and withdraw website banners; mint feed tokens."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import typer

from incident_svc.cli.output import JSON_OPTION, console, print_fields, print_json, print_table
from incident_svc.cli.params import aware_time
from incident_svc.cli.runtime import hmac_key, state, with_db
from incident_svc.config import Settings
from incident_svc.domain import feed_tokens
from incident_svc.domain.enums import BannerAudience, BannerSeverity
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConfigError, ValidationError
from incident_svc.models import Banner, Incident, Subject
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest

app = typer.Typer(
    help="Publish, list and withdraw website banners; mint feed tokens for the website.",
    no_args_is_help=True,
)


@app.command()
def publish(
    ctx: typer.Context,
    incident: str = typer.Argument(..., help="The incident reference, e.g. INC-2026-0007."),
    audience: BannerAudience = typer.Option(
        ...,
        "--audience",
        help="Who sees it: everyone, people of affected accounts, or affected people.",
    ),
    starts: datetime | None = typer.Option(
        None, "--from", parser=aware_time, help="Start (ISO 8601 with offset). Default: now."
    ),
    until: datetime | None = typer.Option(
        None, "--until", parser=aware_time, help="End, exclusive. Default: until withdrawn."
    ),
    severity: BannerSeverity = typer.Option(BannerSeverity.WARNING, "--severity"),
    link: str | None = typer.Option(None, "--link", help="An absolute http(s) URL to read more."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Render the incident's banner in every locale in use and publish it.

    Examples:

        incident-svc banner publish INC-2026-0007 --audience public --severity critical

        incident-svc banner publish INC-2026-0007 --audience affected_subjects \\
            --from 2026-11-28T09:00:00+08:00 --until 2026-12-28T09:00:00+08:00 \\
            --link https://www.example.com/notice
    """
    request = PublishRequest(incident, audience, starts, until, severity, link)
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        banner = await banners.publish(
            request=request, actor=actor, settings=settings, key=hmac_key(settings)
        )
        return _detail(await banners.show(banner_id=banner.id))

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
    else:
        console.print(
            f"published banner {detail['id']} for {incident} ({audience.value}), "
            f"locales: {', '.join(detail['locales'])}",
            markup=False,
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    active: bool = typer.Option(False, "--active", help="Only banners whose window holds now."),
    json_output: bool = JSON_OPTION,
) -> None:
    """List banners, newest first, with their serve counts.

    Example: incident-svc banner list --active --json
    """

    async def work(settings: Settings) -> list[dict[str, Any]]:
        return [_row(b) for b in await banners.list_banners(active_only=active)]

    rows = with_db(ctx, work)
    if json_output:
        print_json(rows)
        return
    columns = ["id", "incident", "audience", "subject", "severity", "starts_at", "ends_at",
               "withdrawn_at", "serve_count"]  # fmt: skip
    print_table(rows, columns)


@app.command()
def show(
    ctx: typer.Context,
    banner_id: int = typer.Argument(..., metavar="ID"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Show one banner with its proof of posting: first and last served, serve count, hashes.

    Example: incident-svc banner show 12 --json
    """

    async def work(settings: Settings) -> dict[str, Any]:
        return _detail(await banners.show(banner_id=banner_id))

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
        return
    texts = detail.pop("texts")
    print_fields({k: v for k, v in detail.items() if k != "content_hashes"})
    for locale, text in texts.items():
        hashed = detail["content_hashes"].get(locale, "")
        console.print(f"[{locale}] {text['title']} (sha {hashed[:16]})", markup=False)
        console.print(f"    {text['body']}", markup=False)


@app.command()
def withdraw(
    ctx: typer.Context,
    banner_id: int = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., "--reason", help="Why, for the audit log."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Take a banner down now; the feed stops serving it within a second.

    Example: incident-svc banner withdraw 12 --reason "incident closed"
    """
    actor = state(ctx).actor

    async def work(settings: Settings) -> dict[str, Any]:
        banner = await banners.withdraw(
            banner_id=banner_id, reason=reason, actor=actor, key=hmac_key(settings)
        )
        return _detail(banner)

    detail = with_db(ctx, work)
    if json_output:
        print_json(detail)
    else:
        console.print(f"withdrew banner {banner_id} at {detail['withdrawn_at']}", markup=False)


@app.command()
def token(
    ctx: typer.Context,
    subject: str | None = typer.Option(None, "--subject", help="A person's external reference."),
    account: str | None = typer.Option(None, "--account", help="An account reference."),
    ttl: str = typer.Option("1h", "--ttl", help="Lifetime: 90s, 15m, 1h, 7d."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Mint a feed token for a signed-in person or their organisation.

    The website's backend normally mints these itself (recipe in docs/banners.md); this
    command is for trying the feed by hand:

        curl -H "Authorization: Bearer $(incident-svc banner token --subject P-1)" \\
            http://127.0.0.1:8080/v1/banners
    """
    if (subject is None) == (account is None):
        raise ValidationError("give exactly one of --subject and --account", field="subject")
    settings = state(ctx).settings
    minted = _mint(settings, "subject" if subject else "account", subject or account or "", ttl)
    if json_output:
        print_json(minted)
    else:
        print(minted["token"])


def _mint(settings: Settings, kind: str, ref: str, ttl_text: str) -> dict[str, Any]:
    secret = settings.feed.token_secret
    if secret is None or not secret.get_secret_value():
        raise ConfigError(
            "feed.token_secret is not set (INCIDENT_SVC_FEED__TOKEN_SECRET)",
            key="feed.token_secret",
        )
    try:
        ttl = feed_tokens.parse_ttl(ttl_text)
    except ValueError as exc:
        raise ValidationError(str(exc), field="ttl") from None
    if ttl > settings.feed.max_token_ttl_seconds:
        raise ValidationError(
            f"--ttl: at most {settings.feed.max_token_ttl_seconds}s (feed.max_token_ttl_seconds)",
            field="ttl",
        )
    expires = int(time.time()) + ttl
    value = feed_tokens.mint(secret.get_secret_value(), kind, ref, expires)
    return {"token": value, "kind": kind, "ref": ref, "expires": expires}


def _row(banner: Banner) -> dict[str, Any]:
    incident = banner.incident
    person = banner.subject
    return {
        "id": banner.id,
        "incident": incident.ref if isinstance(incident, Incident) else None,
        "audience": banner.audience,
        "subject": person.external_ref if isinstance(person, Subject) else None,
        "severity": banner.severity,
        "starts_at": banner.starts_at,
        "ends_at": banner.ends_at,
        "withdrawn_at": banner.withdrawn_at,
        "serve_count": banner.serve_count,
    }


def _detail(banner: Banner) -> dict[str, Any]:
    return {
        **_row(banner),
        "link": banner.link,
        "locales": sorted(banner.texts),
        "first_served_at": banner.first_served_at,
        "last_served_at": banner.last_served_at,
        "posted_until": _posted_until(banner),
        "withdrawn_by": banner.withdrawn_by,
        "withdrawn_reason": banner.withdrawn_reason,
        "created_by": banner.created_by,
        "created_at": banner.created_at,
        "content_hashes": banner.content_hashes,
        "texts": banner.texts,
    }


def _posted_until(banner: Banner) -> datetime | None:
    """When the banner stopped being shown: withdrawn, or its window ended; None while it runs."""
    stops = [t for t in (banner.withdrawn_at, banner.ends_at) if t is not None and t <= utcnow()]
    return min(stops, default=None)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="banner")
