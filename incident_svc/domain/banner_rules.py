"""Which banners a reader sees now, and in which language. Pure: no I/O.

A banner is active from ``starts_at`` (inclusive) until the earliest of ``ends_at`` and
``withdrawn_at`` (exclusive). Public banners are for everyone; targeted banners only for a
viewer (from a valid feed token) in their audience.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from incident_svc.domain.enums import BannerAudience
from incident_svc.domain.feed_tokens import Viewer
from incident_svc.errors import ValidationError

# Chinese regions that write Traditional and Simplified script, for tags without a script.
_HANT_REGIONS = frozenset({"hk", "tw", "mo"})
_HANS_REGIONS = frozenset({"cn", "sg", "my"})
_MAX_LANGUAGES = 12
MAX_LINK_LENGTH = 2048


@dataclass(frozen=True)
class BannerCard:
    """One banner as the feed knows it: its texts and who may see it."""

    id: int
    audience: BannerAudience
    severity: str
    texts: dict[str, dict[str, str]]
    starts_at: datetime
    ends_at: datetime | None = None
    withdrawn_at: datetime | None = None
    link: str | None = None
    incident_ref: str | None = None
    subject_refs: frozenset[str] = field(default_factory=frozenset)
    account_refs: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_public(self) -> bool:
        return self.audience is BannerAudience.PUBLIC


def is_active(card: BannerCard, now: datetime) -> bool:
    """True from starts_at (inclusive) to the earlier of ends_at and withdrawn_at (exclusive)."""
    if now < card.starts_at:
        return False
    if card.ends_at is not None and now >= card.ends_at:
        return False
    return card.withdrawn_at is None or now < card.withdrawn_at


def visible_to(card: BannerCard, viewer: Viewer | None) -> bool:
    """Public banners for all; targeted ones only for a viewer named in their audience."""
    if card.is_public:
        return True
    if viewer is None:
        return False
    if viewer.kind == "subject":
        return viewer.ref in card.subject_refs
    return viewer.ref in card.account_refs


def next_change(cards: Iterable[BannerCard], now: datetime) -> datetime | None:
    """The next moment after ``now`` at which some banner starts or stops."""
    edges = [
        edge
        for card in cards
        for edge in (card.starts_at, card.ends_at, card.withdrawn_at)
        if edge is not None and edge > now
    ]
    return min(edges, default=None)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an Accept-Language header, best first (q=0 dropped)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:_MAX_LANGUAGES]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip()
        if tag and tag != "*" and quality > 0 and _looks_like_tag(tag):
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _looks_like_tag(tag: str) -> bool:
    return len(tag) <= 35 and all(part.isalnum() for part in tag.replace("_", "-").split("-"))


def negotiate(wanted: Sequence[str], available: Iterable[str], default: str) -> str | None:
    """The best of ``available`` for a reader who wants ``wanted`` (best first).

    ``zh-Hant-HK`` tries ``zh-hant-hk``, ``zh-hant``, then ``zh``; ``zh-HK`` implies Traditional
    script. Failing all, the default locale, else the first available one.
    """
    by_lower = {locale.lower(): locale for locale in available}
    if not by_lower:
        return None
    for tag in wanted:
        for candidate in _fallbacks(tag):
            if candidate in by_lower:
                return by_lower[candidate]
    for tag in wanted:
        match = _same_language(tag, by_lower)
        if match is not None:
            return match
    return by_lower.get(default.lower(), next(iter(by_lower.values())))


def _fallbacks(tag: str) -> list[str]:
    parts = tag.lower().replace("_", "-").split("-")
    language, rest = parts[0], parts[1:]
    script = next((part for part in rest if len(part) == 4), None)
    region = next((part for part in rest if len(part) == 2 or part.isdigit()), None)
    if language == "zh" and script is None and region is not None:
        script = "hant" if region in _HANT_REGIONS else "hans" if region in _HANS_REGIONS else None
    candidates = ["-".join(parts)]
    if script and region:
        candidates += [f"{language}-{script}-{region}", f"{language}-{region}"]
    if script:
        candidates.append(f"{language}-{script}")
    elif region:
        candidates.append(f"{language}-{region}")
    candidates.append(language)
    return list(dict.fromkeys(candidates))


def _same_language(tag: str, by_lower: dict[str, str]) -> str | None:
    """Any available locale of the same language (and script, when both name one)."""
    wanted = _fallbacks(tag)
    language = wanted[-1]
    scripts = {part for candidate in wanted for part in candidate.split("-")[1:] if len(part) == 4}
    for lower, locale in sorted(by_lower.items()):
        parts = lower.split("-")
        if parts[0] != language:
            continue
        theirs = {part for part in parts[1:] if len(part) == 4}
        if not scripts or not theirs or scripts & theirs:
            return locale
    return None


def control_character(value: str, *, allow_newlines: bool = False) -> str | None:
    """The first character a banner field may not hold, as ``U+0007``; None when clean.

    Refused: control characters (C0, DEL, C1; a body may keep line feeds and tabs), lone
    surrogates and the non-characters U+FFFE and U+FFFF (none of which XML 1.0 can carry).
    """
    for char in value:
        if allow_newlines and char in "\n\t":
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\ufffe\uffff":
            return f"U+{ord(char):04X}"
    return None


def feed_text(value: object) -> str:
    """``value`` as text both feeds can carry (XML 1.0, UTF-8): characters :func:`control_character`
    refuses are dropped, except line feeds and tabs. Publishing refuses them; this guards rows
    stored before that, or written around the service."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if text.isprintable():  # the common case: nothing to drop (line feeds are not printable)
        return text
    return "".join(c for c in text if c in "\n\t" or control_character(c) is None)


def normal_link(link: str) -> str | None:
    """``link`` as the feed and the widget show it: an absolute http(s) URL with a host and its
    scheme in lower case (``HTTPS://`` is ``https://``), or None when it is not one or holds
    whitespace or control characters. The widget applies the same grammar (widget.js)."""
    if len(link) > MAX_LINK_LENGTH or any(c.isspace() or c == "\ufeff" for c in link):
        return None
    scheme, sep, rest = link.partition(":")
    if not sep or scheme.lower() not in ("http", "https") or not rest.startswith("//"):
        return None
    if len(rest) < 3 or rest[2] in "/?#" or control_character(link):
        return None
    return f"{scheme.lower()}:{rest}"


def check_texts(texts: dict[str, dict[str, str]]) -> None:
    """Refuse a rendered title or body holding a control character (naming locale and part)."""
    for locale, parts in sorted(texts.items()):
        for part, value in sorted(parts.items()):
            bad = control_character(value, allow_newlines=part == "body")
            if bad is not None:
                raise ValidationError(
                    f"the banner's {part} ({locale!r}) contains control character {bad}: "
                    "fix the incident's texts or the banner template",
                    field=f"texts.{locale}.{part}",
                )
