"""``create_app``: the banner feed as a Starlette application.

With ``manage_database=True`` the lifespan opens and closes the database itself (tests, a
standalone feed); with False the caller (``incident-svc serve``) already did. Either way the
lifespan loads the first snapshot before serving, runs the refresher, and flushes the last
serve counts on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from incident_svc.config import Settings
from incident_svc.db import close_database, open_database, require_current_schema
from incident_svc.services.auditlog import audit_key
from incident_svc.web.assets import load_assets
from incident_svc.web.checkpoints_feed import checkpoint_routes
from incident_svc.web.cors import FeedCors
from incident_svc.web.feed import FeedView
from incident_svc.web.refresher import Refresher
from incident_svc.web.routes import FeedState, feed_routes
from incident_svc.web.serve_counter import ServeCounter
from incident_svc.web.snapshot import SnapshotStore
from incident_svc.web.webhooks import PREFIX as WEBHOOK_PREFIX


def create_app(
    *,
    settings: Settings,
    extra_routes: Sequence[BaseRoute] = (),
    manage_database: bool = True,
) -> Starlette:
    """The feed app: /v1/banners, /v1/banners.atom, /openapi.json, /widget.js, /demo."""
    secret = settings.feed.token_secret
    state = FeedState(
        store=SnapshotStore(),
        view=FeedView(
            default_locale=settings.banners.default_locale, feed_url=settings.feed.public_url
        ),
        counter=ServeCounter(),
        token_secret=secret.get_secret_value() if secret else None,
        max_age=settings.feed.max_age,
        token_max_seconds=settings.feed.token_max_days * 86400.0,
        assets=load_assets(settings, _webhooks(extra_routes)),
    )
    refresher = Refresher(
        settings=settings,
        store=state.store,
        view=state.view,
        counter=state.counter,
        audit_key=_audit_key(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _database(settings, manage_database):
            await refresher.refresh()
            task = asyncio.create_task(refresher.run_forever(), name="banner-feed-refresher")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await refresher.flush()

    app = Starlette(
        routes=[*feed_routes(), *checkpoint_routes(settings), *extra_routes],
        middleware=[Middleware(FeedCors, allowed_origins=settings.feed.allowed_origins)],
        lifespan=lifespan,
    )
    app.state.feed = state
    app.state.refresher = refresher
    return app


@contextlib.asynccontextmanager
async def _database(settings: Settings, manage: bool) -> AsyncIterator[None]:
    if not manage:
        yield
        return
    await open_database(settings.database_url)
    try:
        await require_current_schema()
        yield
    finally:
        await close_database()


def _webhooks(routes: Sequence[BaseRoute]) -> list[str]:
    """The webhook providers among the routes, for the OpenAPI document."""
    paths = [route.path for route in routes if isinstance(route, Route)]
    return [path.removeprefix(WEBHOOK_PREFIX) for path in paths if path.startswith(WEBHOOK_PREFIX)]


def _audit_key(settings: Settings) -> bytes | None:
    return audit_key.resolve(settings).key
