# ruff: noqa: F811  (the feed fixtures are imported from test_feed_http by name)
"""Hostile banner fields (issue 15): refused at publish, and well-formed feeds for any stored value.

The JSON feed is parsed with ``json``, the Atom feed with an XML parser (expat, strict about
XML 1.0 characters); every Atom entry has content or an alternate link (RFC 4287 4.1.2).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.banner_rules import BannerCard, control_character, normal_link
from incident_svc.domain.enums import BannerAudience
from incident_svc.errors import ValidationError
from incident_svc.models import AuditEvent, Banner, Incident
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest, TextSource, check_link
from incident_svc.web.atom import atom_document
from incident_svc.web.feed import FeedView
from tests.support.banner_data import make_world
from tests.test_cli_shell import cli

ATOM = "{http://www.w3.org/2005/Atom}"
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# every code point, lone surrogates and non-characters included
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
SCHEMES = st.sampled_from(["http", "https", "HTTPS", "HtTp", "javascript", "ftp", "https:", ""])
LINKS = st.one_of(
    ANY_TEXT,
    st.tuples(SCHEMES, st.sampled_from(["://", ":/", ":", "//"]), ANY_TEXT).map("".join),
    st.tuples(SCHEMES, st.from_regex(r"[a-z0-9.\-]{1,12}", fullmatch=True), ANY_TEXT).map(
        lambda t: f"{t[0]}://{t[1]}/{t[2]}"
    ),
)


def _card(title: str, body: str, link: str | None, locale: str, severity: str) -> BannerCard:
    return BannerCard(
        id=7, audience=BannerAudience.PUBLIC, severity=severity,
        texts={locale: {"title": title, "body": body}},
        starts_at=datetime(2026, 12, 1, tzinfo=UTC), link=link, incident_ref="INC-2026-0007",
    )  # fmt: skip


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, Sequence):
        return [s for v in value for s in _strings(v)]
    return []


@BOUNDED
@given(title=ANY_TEXT, body=ANY_TEXT, link=st.none() | LINKS, locale=ANY_TEXT, severity=ANY_TEXT)
@example(title="a", body="b", link="https://x.example/\x0c", locale="en", severity="info")
@example(title="\ud800", body="\ufffe\x00", link="HTTPS://X.example/", locale="e\x01n", severity="")
def test_both_feeds_are_well_formed_for_any_stored_value(
    title: str, body: str, link: str | None, locale: str, severity: str
) -> None:
    card = _card(title, body, link, locale, severity)
    view = FeedView(default_locale="en", feed_url="https://feed.example")
    chosen = ((card, locale),)
    document = json.loads(view.json_answer(chosen).body.decode("utf-8"))
    [shown] = document["banners"]
    assert all(control_character(s, allow_newlines=True) is None for s in _strings(shown))
    assert shown["link"] == (normal_link(link) if link else None)
    if shown["link"] is not None:
        assert shown["link"].startswith(("http://", "https://"))

    parsed = ET.fromstring(atom_document(chosen, "https://feed.example"))
    [entry] = parsed.findall(f"{ATOM}entry")
    content = entry.find(f"{ATOM}content")
    alternates = [e for e in entry.findall(f"{ATOM}link") if e.get("rel") == "alternate"]
    assert content is not None or alternates  # RFC 4287 4.1.2
    assert [e.get("href") for e in alternates] == ([shown["link"]] if shown["link"] else [])
    assert (content.text or "") == shown["body"] if content is not None else True
    assert (entry.findtext(f"{ATOM}title") or "") == shown["title"]


@BOUNDED
@given(link=LINKS)
@example(link="HTTPS://www.example.com/Notice")
@example(link="https://")
@example(link="https://[::1/")
def test_a_link_is_refused_or_stored_in_its_normal_form(link: str) -> None:
    try:
        stored = check_link(link)
    except ValidationError as exc:
        assert exc.field == "link" and normal_link(link) is None
        return
    assert stored is not None and stored == normal_link(link) == normal_link(stored)
    assert stored.split(":", 1)[0] in ("http", "https") and stored.lower() == link.lower()


def _texts(title: str, body: str) -> TextSource:
    async def render(**_: Any) -> dict[str, dict[str, str]]:
        return {"en": {"title": title, "body": body}}

    return TextSource(render=render, content_hash=lambda text: "0" * 64)


@BOUNDED
@given(title=ANY_TEXT.filter(lambda t: "\x00" not in t), body=ANY_TEXT)
@example(title="Notice\x1b[31m", body="ok")
@example(title="ok", body="line one\nline two\tend")
@example(title="ok", body="bell\x07")
async def test_publish_refuses_control_characters_naming_the_field(
    db_conn: str, settings: Settings, title: str, body: str
) -> None:
    if not await Incident.exists(ref="INC-2026-0007"):
        await make_world()
    before = (await Banner.all().count(), await AuditEvent.all().count())
    request = PublishRequest("INC-2026-0007", BannerAudience.PUBLIC)
    bad = control_character(title) or control_character(body, allow_newlines=True)
    try:
        await banners.publish(
            request=request, actor="t", settings=settings, key=None, texts=_texts(title, body)
        )
    except ValidationError as exc:
        assert bad is not None and exc.exit_code == 5
        assert exc.field in ("texts.en.title", "texts.en.body") and "\n" not in str(exc)
        in_body = exc.field == "texts.en.body"
        named = control_character(body if in_body else title, allow_newlines=in_body)
        assert named is not None and named in str(exc)
        assert (await Banner.all().count(), await AuditEvent.all().count()) == before
        return
    assert bad is None
    assert await Banner.all().count() == before[0] + 1


@pytest.mark.slow
def test_the_cli_refuses_in_one_line_with_exit_5(database_url: str) -> None:
    """A control character reaching the banner through the incident's texts: one line, exit 5."""

    async def seed() -> None:
        async with db.database(database_url):
            await make_world()
            steps = {"en": {"protective_steps": "Change your password\x1b]8;;https://evil\x07"}}
            await Incident.filter(ref="INC-2026-0007").update(texts=steps)

    asyncio.run(seed())
    done = cli(
        "banner", "publish", "INC-2026-0007", "--audience", "public", database_url=database_url
    )
    assert done.returncode == 5, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "texts.en.body" in line and "U+001B" in line and "Traceback" not in done.stderr

    async def count() -> int:
        async with db.database(database_url):
            return await Banner.all().count() + await AuditEvent.all().count()

    assert asyncio.run(count()) == 0


@pytest.mark.parametrize("value", ["a\x85b", "a\ud800", "\uffff", "\x7f"])
def test_c1_del_surrogates_and_non_characters_are_control_characters(value: str) -> None:
    assert control_character(value) is not None


# -- over real HTTP: a row stored around the service still gives well-formed feeds --

from incident_svc.domain.times import utcnow  # noqa: E402
from tests.test_feed_http import Feed, _has, feed, publish, world  # noqa: E402, F401 (fixtures)

STORED = "Notice\x1b[31m \x07bell\x7f \x85next \ufffe line\nend\ttab"


async def test_a_hostile_stored_row_gives_well_formed_feeds_over_http(feed: Feed) -> None:
    http = feed
    banner = await publish(http.settings, link="https://x.test/")
    await http.until(lambda: _has(http, banner.id))
    texts = {locale: {"title": STORED, "body": STORED} for locale in banner.texts}
    await _store(banner.id, texts=texts, link="HTTPS://x.test/\x0cpath")

    async def refreshed() -> bool:
        return "Notice" in (await http.get()).text

    await http.until(refreshed)
    [shown] = (await http.get()).json()["banners"]
    assert shown["title"] == shown["body"] == "Notice[31m bell next  line\nend\ttab"
    assert shown["link"] is None  # a form feed is no part of a link
    atom = await http.get("/v1/banners.atom")
    [entry] = ET.fromstring(atom.content).findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}content") == shown["body"]
    assert entry.findtext(f"{ATOM}title") == shown["title"]
    assert entry.findall(f"{ATOM}link") == []  # content, no alternate link: still RFC 4287

    await _store(banner.id, link="HTTPS://x.test/path")

    async def relinked() -> bool:
        return (await http.get()).json()["banners"][0]["link"] is not None

    await http.until(relinked)
    assert (await http.get()).json()["banners"][0]["link"] == "https://x.test/path"
    [entry] = ET.fromstring((await http.get("/v1/banners.atom")).content).findall(f"{ATOM}entry")
    assert [e.get("href") for e in entry.findall(f"{ATOM}link")] == ["https://x.test/path"]


async def _store(banner_id: int, **values: Any) -> None:
    """Write a banner row as a bug or a hand-edit could, past publish's checks."""
    await Banner.filter(id=banner_id).update(**values, updated_at=utcnow())
