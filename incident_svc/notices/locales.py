"""Locale tags and the fallback chain ``zh-Hant-HK -> zh-Hant -> en``."""

from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError

DEFAULT_LOCALE = "en"


def canonical(tag: str) -> str:
    """``zh_hant_hk`` -> ``zh-Hant-HK``: language lower case, script title case, region upper."""
    parts = [p for p in tag.replace("_", "-").split("-") if p]
    if not parts:
        return DEFAULT_LOCALE
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) in (2, 3):
            out.append(part.upper())
        else:
            out.append(part)
    return "-".join(out)


@functools.lru_cache(maxsize=256)
def fallback_chain(tag: str) -> tuple[str, ...]:
    """Every tag to try, most specific first, ending in ``en``.

    A tag without a script gets the likely one (``zh-HK`` is read as ``zh-Hant-HK``), so that
    a Hong Kong reader falls back to Traditional, never Simplified, Chinese.
    """
    scripted = _with_script(canonical(tag))
    parts = scripted.split("-")
    has_script = len(parts) > 1 and len(parts[1]) == 4
    # with a script, the bare language is ambiguous (zh: Simplified or Traditional?): skip it
    stop = 2 if has_script else 1
    chain = [canonical(tag)]
    chain += ["-".join(parts[:end]) for end in range(len(parts), stop - 1, -1)]
    chain.append(DEFAULT_LOCALE)
    return tuple(dict.fromkeys(chain))


def _with_script(tag: str) -> str:
    parts = tag.split("-")
    if len(parts) < 2 or (len(parts[1]) == 4 and parts[1].isalpha()):
        return tag
    script = babel_locale(tag).script
    return "-".join([parts[0], script, *parts[1:]]) if script else tag


@functools.lru_cache(maxsize=256)
def babel_locale(tag: str) -> Locale:
    """The Babel locale for date formatting; unknown tags read as English."""
    try:
        return Locale.parse(canonical(tag), sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)
