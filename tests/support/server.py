"""A real uvicorn serving an ASGI app on 127.0.0.1, port 0, for tests.

``serving(app)`` runs it as a task in the test's own event loop (the app shares the test's
database connection: build it with ``manage_database=False``). ``serving_in_thread(app)`` runs
it in a thread with a loop of its own, for synchronous clients such as schemathesis and
Playwright's sync API (build the app with ``manage_database=True``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp

from incident_svc.db import database
from tests.support.tls import Pki


def _server(app: ASGIApp, tls: Pki | None = None) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        access_log=False,
        ssl_certfile=tls.cert_file if tls else None,
        ssl_keyfile=tls.key_file if tls else None,
    )
    return uvicorn.Server(config)


def _url(server: uvicorn.Server) -> str:
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    scheme = "https" if server.config.ssl_certfile else "http"
    return f"{scheme}://{host}:{port}"


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, *, timeout: float = 60.0, tls: Pki | None = None
) -> AsyncIterator[str]:
    """Yield the base URL while uvicorn serves ``app`` in this loop (https with ``tls``)."""
    server = _server(app, tls)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(timeout):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield _url(server)
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def serving_in_thread(
    app: ASGIApp, *, timeout: float = 60.0, database_url: str | None = None
) -> Iterator[str]:
    """Yield the base URL while uvicorn serves ``app`` in a thread of its own.

    With ``database_url`` the thread opens that database around the server, the way `serve`
    does, so that request handlers see it (build the app with ``manage_database=False``).
    """
    server = _server(app)

    def run() -> None:
        if database_url is None:
            server.run()
            return

        async def main() -> None:
            async with database(database_url):
                await server.serve()

        asyncio.run(main())

    thread = threading.Thread(target=run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if server.started or not thread.is_alive():
            break
        deadline.wait(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(timeout)
        raise RuntimeError("uvicorn did not start (see the log above)")
    try:
        yield _url(server)
    finally:
        server.should_exit = True
        thread.join(timeout)
