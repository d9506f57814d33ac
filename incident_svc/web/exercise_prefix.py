"""An exercise's feed lives under its own path: ``/exercises/NAME/v1/banners``, never ``/v1``.

The ASGI wrapper strips the prefix for requests under it and answers 404 to every other
path, so a website polling the public feed path of an exercise's server gets nothing.
Lifespan events pass through untouched (a Starlette ``Mount`` would not run them).
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def under_prefix(app: ASGIApp, prefix: str) -> ASGIApp:
    """``app`` served under ``prefix`` only (``prefix`` without a trailing slash)."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == prefix or path.startswith(prefix + "/"):
            inner = dict(scope, path=path[len(prefix) :] or "/")
            inner["root_path"] = scope.get("root_path", "") + prefix
            await app(inner, receive, send)
            return
        answer = PlainTextResponse(f"not found: this exercise's feed is under {prefix}/", 404)
        await answer(scope, receive, send)

    return asgi
