"""A stand-in for incident_svc.notices.banner_text while that module is not in this build.

It follows the same signature; the real renderer is used whenever it exists.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence

from incident_svc.config import Settings
from incident_svc.models import Incident
from incident_svc.services.banners import TextSource, notices_text_source

TITLES = {"en": "Security notice", "zh-Hant": "保安通知"}


async def render_banner_texts(
    *, incident_id: int, locales: Sequence[str], settings: Settings
) -> dict[str, dict[str, str]]:
    incident = await Incident.get(id=incident_id)
    return {
        locale: {
            "title": f"{TITLES.get(locale, TITLES['en'])}: {incident.title}",
            "body": incident.texts.get(locale, {}).get("what_happened", incident.summary),
        }
        for locale in locales
    }


def content_hash(texts: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(texts), sort_keys=True).encode()).hexdigest()


def text_source() -> TextSource:
    """The notices package's renderer when present, else this stand-in."""
    try:
        importlib.import_module("incident_svc.notices.banner_text")
    except ModuleNotFoundError:
        return TextSource(render=render_banner_texts, content_hash=content_hash)
    return notices_text_source()
