"""Feed fixtures shared by the HTTP, fuzz and browser tests."""

from __future__ import annotations

from typing import Any

from incident_svc.config import Settings

SECRET = "test-feed-secret"
SITE = "https://www.example.com"


def feed_overrides(**feed: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "token_secret": SECRET,
        "allowed_origins": [SITE],
        "snapshot_seconds": 0.1,
        "flush_seconds": 0.2,
        "max_age": 60,
    }
    values.update(feed)
    return {"feed": values}


def feed_settings(settings_for: Any, database_url: str, **feed: Any) -> Settings:
    settings: Settings = settings_for(database_url, **feed_overrides(**feed))
    return settings
