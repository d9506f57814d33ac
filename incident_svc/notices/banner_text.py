"""Banner texts for the website, rendered from ``templates/banner/<locale>/{title,body}.j2``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from incident_svc.config import Settings
from incident_svc.notices import context as ctx
from incident_svc.notices import loading
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.rendering import render_banner


async def render_banner_texts(
    *, incident_id: int, locales: Sequence[str], settings: Settings
) -> dict[str, dict[str, str]]:
    """``{locale: {"title": ..., "body": ...}}`` in plain text, one entry per requested locale."""
    incident = await loading.load_incident(incident_id)
    catalog = TemplateCatalog(
        settings.templates_dir, render_seconds=settings.templates.render_seconds
    )
    texts: dict[str, dict[str, str]] = {}
    for locale in locales:
        labels = catalog.labels(locale)
        base = ctx.base_context(
            incident=incident,
            org=settings.org,
            labels=labels,
            locale=locale,
            date_locale=catalog.date_locale("banner", "body.j2", locale),
        )
        texts[locale] = render_banner(catalog, locale, base)
    return texts


def content_hash(texts: Mapping[str, str]) -> str:
    """SHA-256 of one locale's texts in canonical JSON (sorted keys, UTF-8, no spaces)."""
    canonical = json.dumps(dict(texts), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
