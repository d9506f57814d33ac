"""The feed's HTTP handlers: thin, and free of database queries."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from incident_svc.domain.banner_rules import parse_accept_language
from incident_svc.domain.feed_tokens import verify
from incident_svc.web.feed import Answer, FeedView, etag_of
from incident_svc.web.serve_counter import ServeCounter
from incident_svc.web.snapshot import SnapshotStore

VARY = "Accept-Language, Authorization, Origin"
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8}){0,4}$")


@dataclass
class FeedState:
    """What the handlers share, built once per app."""

    store: SnapshotStore
    view: FeedView
    counter: ServeCounter
    token_secret: str | None
    max_age: int
    token_max_seconds: float
    assets: dict[str, tuple[bytes, str, str]]  # path -> (body, media type, etag)


def _state(request: Request) -> FeedState:
    state: FeedState = request.app.state.feed
    return state


def _token(request: Request) -> str | None:
    """The bearer token; never from the query string, which access logs would keep."""
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def wanted_locales(request: Request) -> list[str]:
    """``?locale=`` first (when it is a language tag), then Accept-Language."""
    wanted = list(_accept_language(request.headers.get("accept-language")))
    chosen = request.query_params.get("locale")
    if chosen and _LANG_TAG.match(chosen):
        wanted.insert(0, chosen)
    return wanted


@functools.lru_cache(maxsize=1024)
def _accept_language(header: str | None) -> tuple[str, ...]:
    return tuple(parse_accept_language(header))


def _answer(request: Request, kind: str) -> tuple[FeedState, Answer, datetime]:
    state = _state(request)
    now = datetime.now(UTC)
    # the Atom feed is for feed readers and status pages: public banners only, token or not
    token = _token(request) if kind == "json" else None
    viewer = verify(
        token, secret=state.token_secret, now=time.time(), max_lifetime=state.token_max_seconds
    )
    snapshot = state.store.current
    chosen = state.view.choose(snapshot.cards, viewer, wanted_locales(request), now)
    answer = state.view.json_answer(chosen) if kind == "json" else state.view.atom_answer(chosen)
    state.counter.add(answer.banner_ids, now)
    return state, answer, now


def _cache_control(state: FeedState, answer: Answer, now: datetime) -> str:
    max_age = state.max_age
    until_edge = state.store.current.seconds_to_next_edge(now, public=not answer.private)
    if until_edge is not None:
        # never let a cache keep showing a banner past its end (or hide one past its start)
        max_age = max(0, min(max_age, int(until_edge)))
    return f"{'private' if answer.private else 'public'}, max-age={max_age}"


def conditional(
    request: Request, body: bytes, etag: str, headers: dict[str, str], media: str
) -> Response:
    """200 with the body, or 304 when If-None-Match names this ETag."""
    headers = {**headers, "ETag": etag}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


async def banners_json(request: Request) -> Response:
    state, answer, now = _answer(request, "json")
    headers = {"Cache-Control": _cache_control(state, answer, now), "Vary": VARY}
    return conditional(request, answer.body, answer.etag, headers, "application/json")


async def banners_atom(request: Request) -> Response:
    state, answer, now = _answer(request, "atom")
    headers = {"Cache-Control": _cache_control(state, answer, now), "Vary": VARY}
    return conditional(request, answer.body, answer.etag, headers, "application/atom+xml")


async def asset(request: Request) -> Response:
    body, media, etag = _state(request).assets[request.url.path]
    headers = {"Cache-Control": "public, max-age=300"}
    return conditional(request, body, etag, headers, media)


async def demo(request: Request) -> Response:
    """A page that embeds the widget; ``?lang=zh-Hant-HK`` sets the page's language."""
    lang = request.query_params.get("lang", "en")
    lang = lang if _LANG_TAG.match(lang) else "en"
    template, media, _ = _state(request).assets["/demo"]
    body = template.replace(b"{{LANG}}", lang.encode("ascii"))
    return conditional(request, body, etag_of(body), {"Cache-Control": "no-cache"}, media)


def feed_routes() -> list[Route]:
    return [
        Route("/v1/banners", banners_json, methods=["GET"]),
        Route("/v1/banners.atom", banners_atom, methods=["GET"]),
        Route("/openapi.json", asset, methods=["GET"]),
        Route("/widget.js", asset, methods=["GET"]),
        Route("/demo", demo, methods=["GET"]),
    ]
