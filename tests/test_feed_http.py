"""The feed over real HTTP (uvicorn on 127.0.0.1): audiences, tokens, caching, CORS, edges."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from tortoise import connections

from incident_svc.config import Settings
from incident_svc.domain.enums import BannerAudience, BannerSeverity, EmailStatus
from incident_svc.domain.feed_tokens import mint
from incident_svc.domain.times import utcnow
from incident_svc.models import Banner, Subject
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest
from incident_svc.services.website.banners import notices_text_source as text_source
from incident_svc.web.app import create_app
from tests.support.banner_data import World, make_world
from tests.support.feed import SECRET, SITE, feed_overrides, feed_settings
from tests.support.server import serving


async def publish(settings: Settings, **changes: Any) -> Banner:
    fields: dict[str, Any] = {"incident_ref": "INC-2026-0007", "audience": BannerAudience.PUBLIC}
    fields.update(changes)
    return await banners.publish(
        request=PublishRequest(**fields),
        actor="t",
        settings=settings,
        key=None,
        texts=text_source(),
    )


def token(kind: str, ref: str, ttl: int = 600, secret: str = SECRET) -> str:
    return mint(secret, kind, ref, int(time.time()) + ttl)


class Feed:
    def __init__(self, client: httpx.AsyncClient, settings: Settings, app: Any) -> None:
        self.client, self.settings, self.app = client, settings, app

    async def get(self, path: str = "/v1/banners", **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def ids(self, bearer: str | None = None, **kwargs: Any) -> list[int]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = await self.get(headers=headers, **kwargs)
        assert response.status_code == 200
        return [b["id"] for b in response.json()["banners"]]

    async def until(self, predicate: Any, timeout: float = 10.0) -> float:
        """Seconds until ``predicate()`` (an async callable) holds."""
        started = time.monotonic()
        while not await predicate():
            assert time.monotonic() - started < timeout, "the feed did not change in time"
            await asyncio.sleep(0.02)
        return time.monotonic() - started


@pytest.fixture
async def world(db_conn: str) -> World:
    return await make_world()


@pytest.fixture
async def feed(world: World, database_url: str, settings_for: Any) -> AsyncIterator[Feed]:
    settings = feed_settings(settings_for, database_url)
    app = create_app(settings=settings, manage_database=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield Feed(client, settings, app)


async def test_public_banner_json_follows_the_schema(feed: Feed) -> None:
    banner = await publish(feed.settings, severity=BannerSeverity.CRITICAL, link="https://x.test/")
    await feed.until(lambda: _has(feed, banner.id))
    response = await feed.get(params={"locale": "zh-Hant-HK"})
    document = response.json()
    assert response.headers["content-type"] == "application/json"
    assert document["schema"] == "incident-svc/banners/v1"
    [item] = document["banners"]
    assert item["locale"] == "zh-Hant" and item["title"] == banner.texts["zh-Hant"]["title"]
    assert (item["severity"], item["audience"], item["incident"]) == (
        "critical",
        "public",
        "INC-2026-0007",
    )
    english = (await feed.get(headers={"Accept-Language": "fr, en;q=0.5"})).json()["banners"][0]
    assert english["locale"] == "en"


async def _has(feed: Feed, banner_id: int, bearer: str | None = None) -> bool:
    return banner_id in await feed.ids(bearer)


async def test_targeted_banners_reach_only_their_audience(feed: Feed, world: World) -> None:
    public = await publish(feed.settings)
    people = await publish(feed.settings, audience=BannerAudience.AFFECTED_SUBJECTS)
    orgs = await publish(feed.settings, audience=BannerAudience.AFFECTED_ACCOUNTS)
    await feed.until(lambda: _has(feed, orgs.id, token("subject", "P-1")))  # all three loaded
    assert await feed.ids() == [public.id]
    assert sorted(await feed.ids(token("subject", "P-1"))) == [public.id, people.id, orgs.id]
    assert await feed.ids(token("subject", "P-2")) == [public.id, orgs.id]  # colleague
    assert await feed.ids(token("account", "ACME")) == [public.id, orgs.id]
    # a person or an organisation that was not affected never sees a targeted banner
    assert await feed.ids(token("subject", "P-3")) == [public.id]
    assert await feed.ids(token("account", "GLOBEX")) == [public.id]
    answer = await feed.get(headers={"Authorization": f"Bearer {token('subject', 'P-1')}"})
    assert answer.headers["cache-control"].startswith("private")
    assert (await feed.get()).headers["cache-control"] == "public, max-age=60"


async def test_bad_tokens_are_indistinguishable_from_no_token(feed: Feed) -> None:
    await publish(feed.settings)
    targeted = await publish(feed.settings, audience=BannerAudience.AFFECTED_SUBJECTS)
    await feed.until(lambda: _has(feed, targeted.id, token("subject", "P-1")))
    good = token("subject", "P-1")
    bad = [
        token("subject", "P-1", secret="forged"),
        token("subject", "P-1", ttl=-1),  # expired
        token("account", "P-1"),  # wrong audience kind
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "garbage",
        token("subject", "P-3"),  # valid, but nothing targeted for this person
    ]
    baseline = await feed.get()
    for value in bad:
        for how in (
            {"headers": {"Authorization": f"Bearer {value}"}},
            {"params": {"token": value}},
        ):
            response = await feed.get(**how)
            assert response.status_code == baseline.status_code
            assert response.content == baseline.content
            assert _headers(response) == _headers(baseline)
    assert (await feed.get(params={"token": good})).content == baseline.content  # query: ignored
    bearer = {"Authorization": f"Bearer {good}"}
    assert (await feed.get(headers=bearer)).content != baseline.content


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "date"]


async def test_etag_and_304(feed: Feed) -> None:
    banner = await publish(feed.settings)
    await feed.until(lambda: _has(feed, banner.id))
    first = await feed.get()
    etag = first.headers["etag"]
    assert (
        etag.startswith('"') and first.headers["vary"] == "Accept-Language, Authorization, Origin"
    )
    again = await feed.get(headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "public, max-age=60"
    assert (await feed.get(headers={"If-None-Match": f'"x", W/{etag}'})).status_code == 304
    assert (await feed.get(headers={"If-None-Match": '"other"'})).status_code == 200
    chinese = await feed.get(params={"locale": "zh-Hant"}, headers={"If-None-Match": etag})
    assert chinese.status_code == 200 and chinese.headers["etag"] != etag
    await banners.withdraw(banner_id=banner.id, reason="done", actor="t", key=None)
    await feed.until(lambda: _lacks(feed, banner.id))
    assert (await feed.get(headers={"If-None-Match": etag})).status_code == 200


async def _lacks(feed: Feed, banner_id: int) -> bool:
    return not await _has(feed, banner_id)


async def test_cors_allows_configured_origins_only(feed: Feed) -> None:
    allowed = await feed.get(headers={"Origin": SITE})
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert "ETag" in allowed.headers["access-control-expose-headers"]
    refused = await feed.get(headers={"Origin": "https://evil.example"})
    assert refused.status_code == 200  # the browser, not the server, withholds it
    assert "access-control-allow-origin" not in refused.headers
    preflight = {
        "Origin": SITE,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = await feed.client.options("/v1/banners", headers=preflight)
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == SITE
    assert "Authorization" in ok.headers["access-control-allow-headers"]
    no = await feed.client.options(
        "/v1/banners", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert no.status_code == 403 and "access-control-allow-origin" not in no.headers


@pytest.mark.slow
async def test_window_edges_show_within_a_second(feed: Feed) -> None:
    start = utcnow() + timedelta(seconds=3)
    banner = await publish(feed.settings, starts_at=start, ends_at=start + timedelta(seconds=1.5))
    await asyncio.sleep(0.5)  # the snapshot has it by now, not yet active
    before = await feed.ids()
    assert utcnow() < start, "the machine was too slow to look before the start"
    assert banner.id not in before
    assert (await feed.get()).headers["cache-control"].count("max-age=") > 0
    asked = utcnow()
    max_age = int((await feed.get()).headers["cache-control"].split("max-age=")[1])
    # a cache must not keep the old answer past the start
    assert max_age <= math.ceil((start - asked).total_seconds())
    await feed.until(lambda: _has(feed, banner.id), timeout=3)
    assert utcnow() - start < timedelta(seconds=1)
    await feed.until(lambda: _lacks(feed, banner.id), timeout=3)
    assert utcnow() - (start + timedelta(seconds=1.5)) < timedelta(seconds=1)


async def test_no_database_query_per_request_and_counts_are_flushed(
    world: World, database_url: str, settings_for: Any
) -> None:
    settings = feed_settings(settings_for, database_url, snapshot_seconds=3600, flush_seconds=3600)
    banner = await publish(settings)
    app = create_app(settings=settings, manage_database=False)
    client_db = connections.get("default")
    calls: list[str] = []
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        originals = _count_queries(client_db, calls)
        try:
            await Banner.all().count()
            assert calls, "the query counter must see queries"
            calls.clear()
            for _ in range(20):
                assert (await client.get("/v1/banners")).json()["banners"][0]["id"] == banner.id
            etag = (await client.get("/v1/banners")).headers["etag"]
            await client.get("/v1/banners", headers={"If-None-Match": etag})
            await client.get("/v1/banners.atom")
            assert calls == []
        finally:
            for name, method in originals.items():
                setattr(client_db, name, method)
        await app.state.refresher.flush()
    fresh = await Banner.get(id=banner.id)
    assert fresh.serve_count == 23  # 304s count: the visitor still saw the banner
    assert fresh.first_served_at is not None and fresh.last_served_at >= fresh.first_served_at


def _count_queries(client: Any, calls: list[str]) -> dict[str, Any]:
    originals = {}
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        method = getattr(client, name)
        originals[name] = method

        def counting(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            calls.append(_name)
            return _method(*args, **kw)

        setattr(client, name, counting)
    return originals


async def test_atom_feed_has_public_banners_only(feed: Feed) -> None:
    public = await publish(feed.settings, link="https://x.test/notice")
    await publish(feed.settings, audience=BannerAudience.AFFECTED_SUBJECTS)
    await feed.until(lambda: _has(feed, public.id))
    response = await feed.get("/v1/banners.atom", params={"locale": "zh-Hant-HK"})
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].findtext("a:title", namespaces=ns) == public.texts["zh-Hant"]["title"]
    with_token = await feed.get(
        "/v1/banners.atom",
        params={"locale": "zh-Hant-HK"},
        headers={"Authorization": f"Bearer {token('subject', 'P-1')}"},
    )
    assert with_token.content == response.content  # a token never adds targeted entries
    again = await feed.get(
        "/v1/banners.atom",
        params={"locale": "zh-Hant-HK"},
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304


async def test_static_answers(feed: Feed) -> None:
    widget = await feed.get("/widget.js")
    assert widget.headers["content-type"].startswith("text/javascript")
    assert b'role", critical ? "alert"' in widget.content
    spec = (await feed.get("/openapi.json")).json()
    assert set(spec["paths"]) == {
        "/v1/banners",
        "/v1/banners.atom",
        "/openapi.json",
        "/widget.js",
        "/demo",
        "/v1/audit/checkpoints",
    }
    page = await feed.get("/demo", params={"lang": 'x"><script>alert(1)</script>'})
    assert b'<html lang="en">' in page.content and b"alert(1)" not in page.content
    assert (
        b'<html lang="zh-Hant-HK">'
        in (await feed.get("/demo", params={"lang": "zh-Hant-HK"})).content
    )


async def test_a_bounced_person_gets_a_personal_banner_when_configured(
    world: World, database_url: str, settings_for: Any
) -> None:
    overrides = feed_overrides()
    overrides["banners"] = {"personal_on_bounce": True, "bounce_check_seconds": 0.1}
    settings = settings_for(database_url, **overrides)
    app = create_app(settings=settings, manage_database=False)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        feed = Feed(client, settings, app)
        await asyncio.sleep(0.3)
        assert await feed.ids(token("subject", "P-1")) == []
        await Subject.filter(id=world.affected.id).update(email_status=EmailStatus.BOUNCED)
        await feed.until(lambda: _any(feed, token("subject", "P-1")))
        [banner] = (
            await feed.get(headers={"Authorization": f"Bearer {token('subject', 'P-1')}"})
        ).json()["banners"]
        assert banner["audience"] == "affected_subjects" and banner["locale"] == "en"
        assert await feed.ids(token("subject", "P-2")) == []  # the colleague sees nothing
        assert await feed.ids() == []
    assert await Banner.filter(subject_id=world.affected.id).count() == 1


async def _any(feed: Feed, bearer: str) -> bool:
    return bool(await feed.ids(bearer))


async def test_public_max_age_does_not_hint_at_targeted_windows(feed: Feed) -> None:
    soon = utcnow() + timedelta(seconds=30)
    hidden = await publish(feed.settings, audience=BannerAudience.AFFECTED_SUBJECTS, starts_at=soon)
    public = await publish(feed.settings, ends_at=utcnow() + timedelta(seconds=45))
    await feed.until(lambda: _has(feed, public.id))
    assert hidden.id not in await feed.ids(token("subject", "P-1"))  # not started yet
    max_age = int((await feed.get()).headers["cache-control"].split("max-age=")[1])
    assert 40 <= max_age <= 45  # lowered for the public banner's end, not the hidden start
