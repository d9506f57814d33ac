"""Schema-driven fuzz of the feed (schemathesis) against its own /openapi.json, over real HTTP.

Every operation in the document is called with generated parameters and headers (valid and
invalid); every answer must be no server error and conform to the document: status code,
content type, headers and body schema.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from incident_svc import db
from incident_svc.config import Settings, load_settings
from incident_svc.domain import checkpoints
from incident_svc.domain.enums import BannerAudience, BannerSeverity
from incident_svc.services.auditlog import checkpoint_store
from incident_svc.services.website import banners
from incident_svc.services.website.banners import PublishRequest
from incident_svc.services.website.banners import notices_text_source as text_source
from incident_svc.web.app import create_app
from tests.support.banner_data import make_world
from tests.support.databases import BACKEND, admin_execute, pg_url
from tests.support.feed import feed_overrides
from tests.support.server import serving_in_thread


def _seed(settings: Settings) -> None:
    async def main() -> None:
        async with db.database(settings.database_url):
            await make_world()
            for audience in BannerAudience:
                request = PublishRequest(
                    "INC-2026-0007", audience, severity=BannerSeverity.CRITICAL,
                    link="https://www.example.com/notice",
                )  # fmt: skip
                await banners.publish(
                    request=request, actor="t", settings=settings, key=None, texts=text_source()
                )

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


PATHS = [
    "/v1/banners",
    "/v1/banners.atom",
    "/openapi.json",
    "/widget.js",
    "/demo",
    "/v1/audit/checkpoints",
]


@pytest.fixture(scope="module")
def module_database_url(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database for the whole module: the fuzz only reads, so its cases can share it."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite://{path}"
        return
    name = f"incsvc_fuzz_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield pg_url(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def feed_url(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    overrides = {
        "database_url": module_database_url,
        "var_dir": str(tmp_path_factory.mktemp("var")),
    }
    settings = load_settings(overrides={**overrides, **feed_overrides()})
    _seed(settings)
    point = checkpoints.make(seq=3, head="ab" * 32, at=datetime.now(UTC), key=b"fuzz-key")
    checkpoint_store.append(checkpoint_store.checkpoint_file(settings), point)
    with serving_in_thread(create_app(settings=settings)) as url:
        yield url


# schemathesis' own pytest integration (from_fixture) breaks on pytest 9, so each operation's
# strategy is driven by hypothesis directly; the checks are schemathesis' own.
# negative cases need a parameter that can be invalid: these have query parameters
CASES = [(path, GenerationMode.POSITIVE) for path in PATHS] + [
    (path, GenerationMode.NEGATIVE) for path in ("/v1/banners", "/v1/banners.atom", "/demo")
]


@pytest.mark.parametrize(("path", "mode"), CASES)
def test_feed_conforms_to_its_openapi_document(
    feed_url: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{feed_url}/openapi.json")
    operation = schema[path]["GET"]
    assert {p for p in schema} == set(PATHS)  # every operation of the document is fuzzed

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: Any) -> None:
        case.call_and_validate(base_url=feed_url)

    call()
