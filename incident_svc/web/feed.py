"""Answers of the feed: which banners, in which language, as JSON or Atom bytes with an ETag.

Rendered answers are cached by the exact list of (banner, locale) they contain, so the hot
path is a token check, a loop over a handful of banners and a dictionary lookup.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incident_svc.domain.banner_rules import (
    BannerCard,
    feed_text,
    is_active,
    negotiate,
    normal_link,
    visible_to,
)
from incident_svc.domain.feed_tokens import Viewer
from incident_svc.web.atom import atom_document

SCHEMA = "incident-svc/banners/v1"
_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Answer:
    body: bytes
    etag: str
    private: bool
    banner_ids: tuple[int, ...]


Chosen = tuple[tuple[BannerCard, str], ...]


class FeedView:
    """Chooses banners for a request and renders them once per distinct answer."""

    def __init__(self, *, default_locale: str, feed_url: str) -> None:
        self._default_locale = default_locale
        self._feed_url = feed_url
        self._cache: dict[tuple[Any, ...], Answer] = {}

    def choose(
        self,
        cards: Sequence[BannerCard],
        viewer: Viewer | None,
        wanted: Sequence[str],
        now: datetime,
    ) -> Chosen:
        chosen = []
        wanted_key = tuple(wanted)
        for card in cards:
            if is_active(card, now) and visible_to(card, viewer):
                locale = _negotiate(wanted_key, tuple(card.texts), self._default_locale)
                if locale is not None:
                    chosen.append((card, locale))
        return tuple(chosen)

    def json_answer(self, chosen: Chosen) -> Answer:
        return self._cached("json", chosen, lambda: _json_body(chosen))

    def atom_answer(self, chosen: Chosen) -> Answer:
        return self._cached("atom", chosen, lambda: atom_document(chosen, self._feed_url))

    def _cached(self, kind: str, chosen: Chosen, render: Callable[[], bytes]) -> Answer:
        key = (kind, *((card.id, locale) for card, locale in chosen))
        answer = self._cache.get(key)
        if answer is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            body = render()
            answer = Answer(
                body=body,
                etag=etag_of(body),
                private=any(not card.is_public for card, _ in chosen),
                banner_ids=tuple(card.id for card, _ in chosen),
            )
            self._cache[key] = answer
        return answer

    def forget(self) -> None:
        """Drop every cached answer (after the snapshot changed)."""
        self._cache.clear()


@functools.lru_cache(maxsize=4096)
def _negotiate(wanted: tuple[str, ...], available: tuple[str, ...], default: str) -> str | None:
    """negotiate(), remembered: readers ask in a few dozen languages, banners have a few."""
    return negotiate(wanted, available, default)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _json_body(chosen: Chosen) -> bytes:
    document = {"schema": SCHEMA, "banners": [banner_json(card, locale) for card, locale in chosen]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def banner_json(card: BannerCard, locale: str) -> dict[str, Any]:
    """One banner of the JSON feed; texts as :func:`feed_text` leaves them, the link only when it
    is one the widget would draw (scheme in lower case)."""
    text = card.texts[locale]
    return {
        "id": card.id,
        "incident": card.incident_ref,
        "audience": str(card.audience),
        "severity": feed_text(card.severity),
        "locale": feed_text(locale),
        "title": feed_text(text.get("title", "")),
        "body": feed_text(text.get("body", "")),
        "link": normal_link(card.link) if card.link else None,
        "starts_at": _iso(card.starts_at),
        "ends_at": _iso(card.ends_at) if card.ends_at else None,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
