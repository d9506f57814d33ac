"""CORS for the feed: only the configured origins may read it from a browser.

A small ASGI middleware rather than Starlette's general one: the feed needs GET and HEAD
only, and every answer of every route says ``Vary: Origin`` (added to the route's own Vary)
so that a shared cache never hands one origin's answer to another.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = "Authorization, If-None-Match, Accept-Language"
EXPOSED_HEADERS = "ETag, Cache-Control"


class FeedCors:
    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(origin.rstrip("/") for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        allowed = origin is not None and origin in self.allowed
        if scope["method"] == "OPTIONS" and origin is not None:
            await _preflight(send, origin if allowed else None)
            return
        extra: list[tuple[bytes, bytes]] = []
        if origin is not None and allowed:
            extra = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            ]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = with_vary_origin(list(message.get("headers", [])))
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)


def with_vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with Origin in Vary, on every answer, allowed origin or not: a shared cache
    must not hand an answer without CORS headers to an allowed origin, nor the other way."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            fields = {part.strip().lower() for part in value.split(b",")}
            if b"origin" not in fields and b"*" not in fields:
                headers[index] = (name, value + b", Origin")
            return headers
    return [*headers, (b"vary", b"Origin")]


async def _preflight(send: Send, origin: str | None) -> None:
    """204 with the permissions for an allowed origin; 403 without any for the rest."""
    headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
    if origin is not None:
        headers += [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, HEAD"),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ]
    await send(
        {"type": "http.response.start", "status": 204 if origin else 403, "headers": headers}
    )
    await send({"type": "http.response.body", "body": b""})
