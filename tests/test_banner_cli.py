"""`incident-svc banner` end to end against a real database."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from typer.testing import CliRunner

from incident_svc import db
from incident_svc.cli.main import app
from incident_svc.config import load_settings
from incident_svc.domain.enums import BannerAudience
from incident_svc.domain.feed_tokens import Viewer, verify
from incident_svc.errors import IncidentSvcError
from incident_svc.models import AuditEvent, Banner
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest
from incident_svc.services.website.banners import notices_text_source as text_source
from tests.support.banner_data import make_world

T = TypeVar("T")


def in_db(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with db.database(url):
            return await work()

    return asyncio.run(main())


@dataclass
class Outcome:
    exit_code: int
    output: str
    stdout: str


def cli(url: str, *args: str, secret: str = "cli-secret") -> Outcome:
    """Run a command the way the console script does: our errors become one line and a code."""
    env = {"INCIDENT_SVC_DATABASE_URL": url, "INCIDENT_SVC_FEED__TOKEN_SECRET": secret,
           "INCIDENT_SVC_ACTOR": "carol"}  # fmt: skip
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, IncidentSvcError):
        message = str(result.exception)
        return Outcome(result.exception.exit_code, message, "")
    return Outcome(result.exit_code, result.output, result.stdout)


def seeded(url: str) -> int:
    async def work() -> int:
        await make_world()
        settings = load_settings(overrides={"database_url": url})
        banner = await banners.publish(
            request=PublishRequest("INC-2026-0007", BannerAudience.PUBLIC),
            actor="alice", settings=settings, key=None, texts=text_source(),
        )  # fmt: skip
        return int(banner.id)

    return in_db(url, work)


def test_list_show_withdraw(database_url: str) -> None:
    banner_id = seeded(database_url)
    listed = cli(database_url, "banner", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["id"] for row in json.loads(listed.stdout)] == [banner_id]
    shown = json.loads(cli(database_url, "banner", "show", str(banner_id), "--json").stdout)
    assert shown["locales"] == ["en", "zh-Hant"] and shown["serve_count"] == 0
    assert set(shown["content_hashes"]) == {"en", "zh-Hant"}
    out = cli(database_url, "banner", "withdraw", str(banner_id), "--reason", "fixed", "--json")
    assert out.exit_code == 0, out.output
    withdrawn = json.loads(out.stdout)
    assert withdrawn["withdrawn_by"] == "carol"
    assert withdrawn["posted_until"] == withdrawn["withdrawn_at"] is not None
    assert shown["posted_until"] is None
    active = cli(database_url, "banner", "list", "--active", "--json")
    assert json.loads(active.stdout) == []
    again = cli(database_url, "banner", "withdraw", str(banner_id), "--reason", "x")
    assert again.exit_code == 6 and "already withdrawn" in again.output
    missing = cli(database_url, "banner", "show", "999")
    assert missing.exit_code == 4 and "no banner 999" in missing.output


def test_token_is_valid_for_its_ttl(database_url: str) -> None:
    out = cli(database_url, "banner", "token", "--subject", "P-1", "--ttl", "15m", "--json")
    assert out.exit_code == 0, out.output
    minted = json.loads(out.stdout)
    assert abs(minted["expires"] - (time.time() + 900)) < 5
    viewer = verify(minted["token"], secret="cli-secret", now=time.time())
    assert viewer == Viewer(kind="subject", ref="P-1")
    assert verify(minted["token"], secret="cli-secret", now=time.time() + 901) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subject", "P-1", "--account", "A"], "exactly one"),
        ([], "exactly one"),
        (["--subject", "P-1", "--ttl", "soon"], "--ttl"),
        (["--subject", "P-1", "--ttl", "30d"], "at most"),
    ],
)
def test_token_refuses_bad_options_in_one_line(
    database_url: str, args: list[str], message: str
) -> None:
    out = cli(database_url, "banner", "token", *args)
    assert out.exit_code != 0 and message in out.output


def test_token_needs_the_secret(database_url: str) -> None:
    out = cli(database_url, "banner", "token", "--account", "ACME", secret="")
    assert out.exit_code == 2 and "feed.token_secret" in out.output


def test_publish_uses_the_notice_templates(database_url: str) -> None:
    in_db(database_url, make_world)
    out = cli(database_url, "banner", "publish", "INC-2026-0007", "--audience", "affected_accounts",
              "--severity", "critical", "--until", "2099-01-01T00:00:00Z", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    detail = json.loads(out.stdout)
    assert detail["audience"] == "affected_accounts" and "zh-Hant" in detail["locales"]

    async def stored() -> tuple[int, list[str]]:
        events = [e.action for e in await AuditEvent.all()]
        return await Banner.all().count(), events

    assert in_db(database_url, stored) == (1, ["banner.published"])


def test_publish_refuses_a_bad_link_before_touching_anything(database_url: str) -> None:
    in_db(database_url, make_world)
    out = cli(database_url, "banner", "publish", "INC-2026-0007", "--audience", "public",
              "--link", "ftp://x")  # fmt: skip
    assert out.exit_code == 5 and "field 'link'" in out.output
    assert in_db(database_url, lambda: Banner.all().count()) == 0
