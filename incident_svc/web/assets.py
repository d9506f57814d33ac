"""The feed's fixed answers: the widget script, the demo page and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.web.feed import etag_of
from incident_svc.web.openapi import openapi_document

STATIC_DIR = Path(__file__).resolve().parent / "static"


def load_assets(
    settings: Settings, webhooks: Sequence[str] = ()
) -> dict[str, tuple[bytes, str, str]]:
    """path -> (body, media type, ETag), read once when the app is built."""
    document = openapi_document(settings.feed.public_url, webhooks)
    openapi = json.dumps(document, indent=1).encode("utf-8")
    files = {
        "/widget.js": ((STATIC_DIR / "widget.js").read_bytes(), "text/javascript"),
        "/demo": ((STATIC_DIR / "demo.html").read_bytes(), "text/html"),
        "/openapi.json": (openapi, "application/json"),
    }
    return {path: (body, media, etag_of(body)) for path, (body, media) in files.items()}
