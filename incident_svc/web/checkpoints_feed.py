"""``/v1/audit/checkpoints``: the local checkpoint file, published read-only as JSON.

Anyone outside may poll it and keep copies; `audit verify --checkpoints URL` reads it back.
A checkpoint carries a sequence number, a hash, a time, a key id and a signature: no
personal data, nothing about what the events say.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from incident_svc.config import Settings
from incident_svc.services.auditlog import checkpoint_store
from incident_svc.web.feed import etag_of
from incident_svc.web.routes import conditional

SCHEMA = 1
LIMIT = 500  # the newest ones; at the default 15 minutes, more than five days


def checkpoint_routes(settings: Settings) -> list[Route]:
    """The route when the feed witness is on (audit.checkpoint_feed and the file witness)."""
    if not (settings.audit.checkpoint_feed and settings.audit.checkpoint_to_file):
        return []
    path = checkpoint_store.checkpoint_file(settings)

    def checkpoints(request: Request) -> Response:  # sync: starlette runs it in a thread
        return _answer(request, path)

    return [Route(checkpoint_store.FEED_PATH, checkpoints, methods=["GET"])]


def _answer(request: Request, path: Path) -> Response:
    points = checkpoint_store.recent(path, LIMIT)
    document = {"schema": SCHEMA, "checkpoints": [point.as_dict() for point in points]}
    body = json.dumps(document, separators=(",", ":")).encode("ascii")
    headers = {"Cache-Control": "no-cache"}
    return conditional(request, body, etag_of(body), headers, "application/json")
