"""Code lists a row or an incident may use: jurisdictions, locales, time zones.

Jurisdictions are ISO 3166-1 alpha-2 countries (``GB``, ``HK``) or ISO 3166-2 subdivisions
(``US-CA``), from pycountry. Locales are BCP 47 tags that Babel knows (``zh-Hant-HK``).
Each list is built once, on first use, and cached.
"""

from __future__ import annotations

import functools
import zoneinfo

import pycountry
from babel import Locale, UnknownLocaleError

# fmt: off
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
# fmt: on


@functools.cache
def jurisdictions() -> frozenset[str]:
    countries = {country.alpha_2 for country in pycountry.countries}
    subdivisions = {subdivision.code for subdivision in pycountry.subdivisions}
    return frozenset(countries | subdivisions)


def normalise_jurisdiction(text: str) -> str:
    """``us-ca`` -> ``US-CA``; ValueError when ISO 3166 has no such code."""
    code = text.strip().upper()
    if code not in jurisdictions():
        raise ValueError(
            f"{text!r} is not an ISO 3166 country or subdivision code (examples: GB, HK, US-CA)"
        )
    return code


@functools.cache
def normalise_locale(text: str) -> str:
    """``zh_hant_hk`` or ``zh-Hant-HK`` -> ``zh-Hant-HK``; ValueError for an unknown locale."""
    try:
        locale = Locale.parse(text.strip().replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError, TypeError):
        raise ValueError(
            f"{text!r} is not a locale code Babel knows (examples: en, en-GB, zh-Hant-HK)"
        ) from None
    return str(locale).replace("_", "-")


@functools.cache
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalise_timezone(text: str) -> str:
    name = text.strip()
    if name not in timezones():
        raise ValueError(f"{text!r} is not an IANA time zone (examples: UTC, Asia/Hong_Kong)")
    return name
