"""The OpenAPI 3.1 document of the feed. Tests fuzz the server against it (schemathesis)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from incident_svc.web.feed import SCHEMA
from incident_svc.web.openapi_webhooks import SCHEMAS as WEBHOOK_SCHEMAS
from incident_svc.web.openapi_webhooks import webhook_paths

_NULLABLE_STRING = {"type": ["string", "null"]}

# new optional fields may appear within one `schema` version (docs/banners.md): clients
# must ignore what they do not know, so the document allows it
BANNER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "required": [
        "id",
        "incident",
        "audience",
        "severity",
        "locale",
        "title",
        "body",
        "link",
        "starts_at",
        "ends_at",
    ],
    "properties": {
        "id": {
            "type": "integer",
            "description": "Stable banner id; the widget remembers dismissals by it.",
        },
        "incident": {**_NULLABLE_STRING, "description": "Incident reference, e.g. INC-2026-0007."},
        "audience": {"enum": ["public", "affected_accounts", "affected_subjects"]},
        "severity": {"enum": ["info", "warning", "critical"]},
        "locale": {"type": "string", "description": "The language the texts are in (BCP 47)."},
        "title": {"type": "string"},
        "body": {"type": "string", "description": "Plain text; render it as text, not HTML."},
        "link": {
            **_NULLABLE_STRING,
            "description": "Where to read more: an absolute http(s) URL, scheme in lower case.",
        },
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {**_NULLABLE_STRING, "format": "date-time"},
    },
}

FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "required": ["schema", "banners"],
    "properties": {
        "schema": {"const": SCHEMA, "description": "Changes only with an incompatible change."},
        "banners": {"type": "array", "items": {"$ref": "#/components/schemas/Banner"}},
    },
}

_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
CHECKPOINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["v", "seq", "head", "at", "key_id", "mac"],
    "properties": {
        "v": {"const": 1},
        "seq": {"type": "integer", "minimum": 0, "description": "The chain's last sequence."},
        "head": {**_HEX64, "description": "The hash of event `seq` (64 zeros: empty chain)."},
        "at": {"type": "string", "description": "When it was taken (UTC, microseconds)."},
        "key_id": {
            "type": ["string", "null"],
            "pattern": "^[0-9a-f]{16}$",
            "description": "Names the audit key without revealing it; null: unkeyed.",
        },
        "mac": {**_HEX64, "description": "HMAC-SHA256 with the audit key (docs/audit.md)."},
    },
}
CHECKPOINT_FEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "checkpoints"],
    "properties": {
        "schema": {"const": 1},
        "checkpoints": {
            "type": "array",
            "description": "The newest checkpoints of the local file, oldest first.",
            "items": {"$ref": "#/components/schemas/AuditCheckpoint"},
        },
    },
}

_LOCALE = {
    "name": "locale",
    "in": "query",
    "required": False,
    "description": "Preferred language (BCP 47, e.g. zh-Hant-HK); wins over Accept-Language.",
    "schema": {"type": "string"},
}
_HEADERS = [
    {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
]
_VARY = {"Vary": {"schema": {"type": "string"}, "description": "Always names Origin."}}
_CACHE_HEADERS = {
    "ETag": {"schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
    **_VARY,
}


def _feed_operation(
    summary: str, media: str, schema: dict[str, Any], *, targeted: bool
) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [_LOCALE, *_HEADERS],
        "security": [{}, {"feedToken": []}] if targeted else [{}],
        "responses": {
            "200": {
                "description": "The banners active now.",
                "headers": _CACHE_HEADERS,
                "content": {media: {"schema": schema}},
            },
            "304": {
                "description": "Not modified (If-None-Match named the current ETag).",
                "headers": _CACHE_HEADERS,
            },
        },
    }


def _asset(summary: str, media: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body = schema or {"type": "string"}
    return {
        "summary": summary,
        "parameters": [_HEADERS[1]],
        "responses": {
            "200": {"description": summary, "headers": _VARY, "content": {media: {"schema": body}}},
            "304": {"description": "Not modified.", "headers": _VARY},
        },
    }


def _checkpoints_operation() -> dict[str, Any]:
    operation = _asset(
        "Audit checkpoints (sequence, head hash, time, signature; no personal data).",
        "application/json",
        {"$ref": "#/components/schemas/AuditCheckpointFeed"},
    )
    operation["responses"]["404"] = {"description": "The checkpoint feed is turned off."}
    return operation


def openapi_document(public_url: str, webhooks: Sequence[str] = ()) -> dict[str, Any]:
    """The document; the webhook operations appear only for the providers configured."""
    json_schema = {"$ref": "#/components/schemas/BannerFeed"}
    demo = _asset("A page that shows the widget.", "text/html")
    demo["parameters"] = [
        *demo["parameters"],
        {
            "name": "lang",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "The demo page's language (html lang attribute).",
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "incident-svc banner feed", "version": "1"},
        "servers": [{"url": public_url}],
        "paths": {
            "/v1/banners": {
                "get": _feed_operation(
                    "Banners active now, as JSON.", "application/json", json_schema, targeted=True
                )
            },
            "/v1/banners.atom": {
                "get": _feed_operation(
                    "Public banners as an Atom feed (tokens are ignored).",
                    "application/atom+xml",
                    {"type": "string"},
                    targeted=False,
                )
            },
            "/openapi.json": {
                "get": _asset(
                    "This document.",
                    "application/json",
                    {"type": "object", "required": ["openapi"]},
                )
            },
            "/widget.js": {"get": _asset("The embeddable banner script.", "text/javascript")},
            "/demo": {"get": demo},
            "/v1/audit/checkpoints": {"get": _checkpoints_operation()},
            **webhook_paths(list(webhooks)),
        },
        "components": {
            "schemas": {
                "Banner": BANNER_SCHEMA,
                "BannerFeed": FEED_SCHEMA,
                "AuditCheckpoint": CHECKPOINT_SCHEMA,
                "AuditCheckpointFeed": CHECKPOINT_FEED_SCHEMA,
                **(WEBHOOK_SCHEMAS if webhooks else {}),
            },
            "securitySchemes": {
                "feedToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token minted by `incident-svc banner token` or the recipe in docs/banners.md; any other spelling, or a lifetime past feed.token_max_days, counts as no token.",
                },
            },
        },
    }
