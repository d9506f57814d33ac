"""Hostile requests against the real feed over HTTP (issue 15): tokens, headers, Vary.

Any malformed, forged, non-canonical, expired or too long-lived token gets exactly the
answer of no token: the same status, body and headers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc import db
from incident_svc.config import Settings, load_settings
from incident_svc.domain.enums import BannerAudience
from incident_svc.domain.feed_tokens import mint
from incident_svc.errors import ConfigError
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest
from incident_svc.services.website.banners import notices_text_source as text_source
from incident_svc.web.app import create_app
from tests.support.banner_data import make_world
from tests.support.feed import SECRET, SITE, feed_overrides
from tests.support.module_db import module_database
from tests.support.server import serving_in_thread

PATHS = ["/v1/banners", "/v1/banners.atom", "/openapi.json", "/widget.js", "/demo"]
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _seed(settings: Settings) -> None:
    async def main() -> None:
        async with db.database(settings.database_url):
            await make_world()
            for audience in BannerAudience:
                await banners.publish(
                    request=PublishRequest("INC-2026-0007", audience),
                    actor="t", settings=settings, key=None, texts=text_source(),
                )  # fmt: skip

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="module")
def client(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("hostile")
    with module_database(migrated_template, folder) as url:
        overrides = {"database_url": url, "var_dir": str(folder / "var")}
        settings = load_settings(overrides={**overrides, **feed_overrides(token_max_days=7)})
        _seed(settings)
        with (
            serving_in_thread(create_app(settings=settings)) as base,
            httpx.Client(base_url=base) as http,
        ):
            yield http


def _answer(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("date",))
    return response.status_code, response.content, headers


def _valid(ref: str = "P-1", ttl: int = 3600) -> str:
    return mint(SECRET, "subject", ref, int(time.time()) + ttl)


# any byte HTTP/1.1 lets a header value carry (h11 refuses the rest before it is sent)
HEADER_BYTES = st.binary(max_size=200).map(
    lambda b: bytes(c for c in b if c == 9 or 32 <= c != 127).strip(b" \t")
)


@BOUNDED
@given(
    value=st.one_of(
        HEADER_BYTES,
        HEADER_BYTES.map(lambda b: b"Bearer " + b),
        st.sampled_from([b"Bearer ", b"bearer "]).flatmap(
            lambda p: st.integers(0, 60).map(lambda n: p + _valid().encode()[:n])  # cut short
        ),
    ).map(lambda b: b.strip(b" \t"))
)
@example(value=b"Bearer v1.subject.UC0x.\xb2.AAAA")  # "²" in the expiry: was a 500
@example(value=("Bearer " + _valid() + "=").encode())
@example(value=("Bearer " + _valid(ttl=30 * 86400)).encode())  # past feed.token_max_days
@example(value=("Bearer " + _valid(ttl=-5)).encode())  # expired
def test_a_bad_authorization_header_gets_the_answer_of_no_token(
    client: httpx.Client, value: bytes
) -> None:
    none = _answer(client.get("/v1/banners"))
    got = _answer(client.get("/v1/banners", headers={"Authorization": value}))
    assert got == none


def test_a_valid_token_still_sees_its_targeted_banners(client: httpx.Client) -> None:
    none = client.get("/v1/banners").json()["banners"]
    seen = client.get("/v1/banners", headers={"Authorization": f"Bearer {_valid()}"})
    assert len(seen.json()["banners"]) > len(none)  # the test above compares something real
    too_long = client.get(
        "/v1/banners", headers={"Authorization": f"Bearer {_valid(ttl=8 * 86400)}"}
    )
    assert too_long.json()["banners"] == none


@BOUNDED
@given(
    path=st.sampled_from(PATHS),
    origin=st.sampled_from([None, SITE, "https://evil.example", "null"]),
    etag=st.booleans(),
    lang=HEADER_BYTES,
)
def test_every_answer_says_vary_origin(
    client: httpx.Client, path: str, origin: str | None, etag: bool, lang: bytes
) -> None:
    headers = {"Origin": origin} if origin else {}
    first = client.get(path, headers=headers)
    assert first.status_code == 200
    answers = [first]
    if etag:
        answers.append(
            client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        )
    answers.append(client.get(path, headers={**headers, "Accept-Language": lang}))
    for response in answers:
        assert response.status_code in (200, 304)
        vary = [part.strip().lower() for part in response.headers["vary"].split(",")]
        assert "origin" in vary and len(response.headers.get_list("vary")) == 1
        allowed = response.headers.get("access-control-allow-origin")
        assert allowed == (origin if origin == SITE else None)


def test_the_cli_ttl_may_not_outlive_what_the_feed_accepts() -> None:
    with pytest.raises(ConfigError, match="token_max_days") as caught:
        load_settings(overrides=feed_overrides(token_max_days=1, max_token_ttl_seconds=2 * 86400))
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)
    assert load_settings().feed.token_max_days * 86400 >= load_settings().feed.max_token_ttl_seconds
