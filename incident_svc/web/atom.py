"""The Atom (RFC 4287) rendering of public banners, for feed readers and status pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from incident_svc.domain.banner_rules import BannerCard, feed_text, normal_link

_NS = "http://www.w3.org/2005/Atom"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def atom_document(chosen: Sequence[tuple[BannerCard, str]], feed_url: str) -> bytes:
    """One entry per banner; ``updated`` is the latest start, so the bytes depend only on input."""
    base = feed_url.rstrip("/")
    feed = ET.Element("feed", {"xmlns": _NS})
    _text(feed, "id", f"{base}/v1/banners.atom")
    _text(feed, "title", "Security notices")
    updated = max((card.starts_at for card, _ in chosen), default=_EPOCH)
    _text(feed, "updated", _iso(updated))
    ET.SubElement(feed, "link", {"rel": "self", "href": f"{base}/v1/banners.atom"})
    author = ET.SubElement(feed, "author")
    _text(author, "name", "incident-svc")
    for card, locale in chosen:
        feed.append(_entry(card, locale, base))
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _entry(card: BannerCard, locale: str, base: str) -> ET.Element:
    text = card.texts[locale]
    entry = ET.Element("entry", {"xml:lang": feed_text(locale)})
    _text(entry, "id", f"{base}/v1/banners#{card.id}")
    _text(entry, "title", text.get("title", ""))
    _text(entry, "updated", _iso(card.starts_at))
    _text(entry, "published", _iso(card.starts_at))
    # RFC 4287 4.1.2: an entry has content or an alternate link; this one always has content
    content = ET.SubElement(entry, "content", {"type": "text"})
    content.text = feed_text(text.get("body", ""))
    ET.SubElement(entry, "category", {"term": feed_text(card.severity)})
    link = normal_link(card.link) if card.link else None
    if link:
        ET.SubElement(entry, "link", {"rel": "alternate", "href": link})
    return entry


def _text(parent: ET.Element, tag: str, value: object) -> None:
    # XML 1.0 cannot carry most control characters; a banner text never needs them
    ET.SubElement(parent, tag).text = feed_text(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
