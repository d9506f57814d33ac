"""Checking what an operator says about an incident: lists, time window and notice texts.

Each function returns the normalised value or raises ValidationError naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from incident_svc.domain.codes import normalise_jurisdiction, normalise_locale
from incident_svc.domain.enums import DataCategory
from incident_svc.errors import ValidationError

TEXT_KEYS = (
    "what_happened",
    "consequences",
    "measures",
    "protective_steps",
    "contact",
    "what_is_new",  # update_notice: what we learned since the last notice
    "what_to_do_now",  # update_notice: what the reader should do now
)
TEXT_MAX = 20_000
TITLE_MAX = 256
_ONE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TEXT_BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # keeps \t and \n


def one_line(value: str, *, field: str, max_length: int = TITLE_MAX) -> str:
    text = value.strip()
    if not text:
        raise ValidationError("must not be empty", field=field)
    if _ONE_LINE_BAD.search(text):
        raise ValidationError("must be one line without control characters", field=field)
    if len(text) > max_length:
        raise ValidationError(f"is longer than {max_length} characters", field=field)
    return text


def free_text(value: str, *, field: str) -> str:
    text = value.replace("\r\n", "\n").strip()
    if _TEXT_BAD.search(text):
        raise ValidationError("contains a control character", field=field)
    if len(text) > TEXT_MAX:
        raise ValidationError(f"is longer than {TEXT_MAX} characters", field=field)
    return text


def names(values: Iterable[str], *, field: str, required: bool = False) -> list[str]:
    """A list of plain names (systems, account references): trimmed, unique, sorted."""
    cleaned = sorted({one_line(v, field=field, max_length=128) for v in values if v.strip()})
    if required and not cleaned:
        raise ValidationError("needs at least one value", field=field)
    return cleaned


def categories(values: Iterable[str]) -> list[str]:
    found: set[str] = set()
    for value in (v.strip().lower() for v in values if v.strip()):
        try:
            found.add(DataCategory(value).value)
        except ValueError:
            known = ", ".join(c.value for c in DataCategory)
            raise ValidationError(
                f"{value!r} is not a data category; use one of {known}", field="categories"
            ) from None
    if not found:
        raise ValidationError("needs at least one data category", field="categories")
    return sorted(found)


def jurisdictions(values: Iterable[str]) -> list[str]:
    try:
        return sorted({normalise_jurisdiction(v) for v in values if v.strip()})
    except ValueError as exc:
        raise ValidationError(str(exc), field="jurisdictions") from None


def window(
    discovered_at: datetime, occurred_from: datetime | None, occurred_to: datetime | None
) -> None:
    """The incident cannot end before it starts, nor start after we became aware of it."""
    if occurred_from and occurred_to and occurred_to < occurred_from:
        raise ValidationError("is before occurred_from", field="occurred_to")
    if occurred_from and discovered_at < occurred_from:
        raise ValidationError("is before occurred_from", field="discovered_at")


def texts(given: Mapping[str, Any], *, source: str = "texts") -> dict[str, dict[str, str]]:
    """``{locale: {key: text}}`` checked and normalised; an empty text means 'remove it'."""
    if not isinstance(given, Mapping):
        raise ValidationError("must map locales to texts", field=source)
    result: dict[str, dict[str, str]] = {}
    for locale, entries in given.items():
        try:
            code = normalise_locale(str(locale))
        except ValueError as exc:
            raise ValidationError(str(exc), field=f"{source}.{locale}") from None
        if not isinstance(entries, Mapping):
            raise ValidationError("must map text names to text", field=f"{source}.{locale}")
        result[code] = {
            key: free_text(
                _text(value, f"{source}.{locale}.{key}"), field=f"{source}.{locale}.{key}"
            )
            for key, value in _known(entries, f"{source}.{locale}")
        }
    return result


def _known(entries: Mapping[str, Any], field: str) -> Iterable[tuple[str, Any]]:
    for key, value in entries.items():
        if key not in TEXT_KEYS:
            raise ValidationError(
                f"{key!r} is not a text name; use {', '.join(TEXT_KEYS)}", field=field
            )
        yield key, value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    return value


def merge_texts(
    current: Mapping[str, Mapping[str, str]], changes: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Apply per-locale, per-text changes; an empty text removes that text."""
    merged = {locale: dict(entries) for locale, entries in current.items()}
    for locale, entries in changes.items():
        target = merged.setdefault(locale, {})
        for key, value in entries.items():
            if value:
                target[key] = value
            else:
                target.pop(key, None)
        if not target:
            merged.pop(locale)
    return merged
