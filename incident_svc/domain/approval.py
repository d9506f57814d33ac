"""What an approval binds: the snapshot's canonical form, its digest, and what changed. Pure.

A snapshot is a JSON object of plain values (see :func:`build_snapshot`). Its canonical text
is :func:`incident_svc.domain.audit_chain.canonical_json` (sorted keys, no spaces, UTF-8) and
the **approval digest** is the SHA-256 of that text. The audience is too large to sit in the
object itself: it enters as its count and the SHA-256 of its canonical lines
(:func:`audience_line`, one per recipient, in the order of the recipients' ids).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incident_svc.domain.audit_chain import canonical_json

SNAPSHOT_VERSION = 1
SECTIONS = ("campaign", "kind", "channels", "incident", "settings", "templates", "audience")
MAX_NAMED = 3  # differences named in one line before "and N more"
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # what JSON escapes when it keeps non-ASCII


@dataclass(frozen=True)
class ApprovalPolicy:
    """Whether a second person must approve, and where that setting came from."""

    required: bool
    source: str


@dataclass(frozen=True)
class TemplateFile:
    name: str  # the template's path under its folder, e.g. email/subject_notice/en/subject.j2
    layer: str  # "operator" (templates_dir) or "builtin"
    sha256: str


@dataclass(frozen=True)
class Audience:
    count: int
    sha256: str


def audience_line(recipient_ref: str, address: str, locale: str) -> bytes:
    """One recipient's canonical line: a JSON array and a newline, UTF-8."""
    return audience_text(recipient_ref, address, locale).encode("utf-8")


def audience_text(recipient_ref: str, address: str, locale: str) -> str:
    """:func:`audience_line` as text. Values JSON need not escape (nearly all) are written
    as they are, which is the JSON encoder's output at a fraction of its cost per row."""
    if _ESCAPED.search(recipient_ref) or _ESCAPED.search(address) or _ESCAPED.search(locale):
        return _LINE.encode([recipient_ref, address, locale]) + "\n"
    return f'["{recipient_ref}","{address}","{locale}"]\n'


def audience_of(lines: Iterable[bytes]) -> Audience:
    """Count and SHA-256 of canonical lines (for tests and small lists; services stream)."""
    digest, count = hashlib.sha256(), 0
    for line in lines:
        digest.update(line)
        count += 1
    return Audience(count, digest.hexdigest())


def build_snapshot(
    *,
    campaign_id: int,
    kind: str,
    channels: Sequence[str],
    incident: Mapping[str, Any],
    settings: Mapping[str, Any],
    templates: Iterable[TemplateFile],
    audience: Audience,
) -> dict[str, Any]:
    """The snapshot as a plain object (every value JSON-ready: strings, numbers, lists, dicts)."""
    return {
        "version": SNAPSHOT_VERSION,
        "campaign": campaign_id,
        "kind": kind,
        "channels": sorted(channels),
        "incident": dict(incident),
        "settings": dict(settings),
        "templates": template_entries(templates),
        "audience": {"count": audience.count, "sha256": audience.sha256},
    }


def template_entries(templates: Iterable[TemplateFile]) -> list[dict[str, str]]:
    return [
        {"name": t.name, "layer": t.layer, "sha256": t.sha256}
        for t in sorted(templates, key=lambda t: t.name)
    ]


def canonical_text(snapshot: Mapping[str, Any]) -> str:
    return canonical_json(dict(snapshot))


def digest_of_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def approval_digest(snapshot: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the snapshot's canonical text."""
    return digest_of_text(canonical_text(snapshot))


def differences(approved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two snapshots, one short phrase each, in a stable order."""
    found: list[str] = []
    for section in SECTIONS:
        before, after = approved.get(section), current.get(section)
        if before == after:
            continue
        if section == "templates":
            found.extend(_template_changes(before or [], after or []))
        elif section == "audience":
            found.append(_audience_change(before or {}, after or {}))
        elif isinstance(before, Mapping) and isinstance(after, Mapping):
            found.extend(f"{section} {path} changed" for path in _changed_paths(before, after))
        else:
            found.append(f"{section} changed")
    return found


def one_line(changes: Sequence[str]) -> str:
    """Changes as one line: the first few named, the rest counted."""
    shown = "; ".join(changes[:MAX_NAMED])
    more = len(changes) - MAX_NAMED
    return f"{shown}; and {more} more" if more > 0 else shown


def _changed_paths(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> list[str]:
    paths: list[str] = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if isinstance(b, Mapping) and isinstance(a, Mapping):
            paths.extend(_changed_paths(b, a, f"{prefix}{_printable(key)}."))
        else:
            paths.append(f"{prefix}{_printable(key)}")
    return paths


def _printable(name: Any) -> str:
    """A key as it can sit in one line of text (locales and names come from data)."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def _template_changes(before: list[Any], after: list[Any]) -> list[str]:
    old = {t["name"]: t for t in before}
    new = {t["name"]: t for t in after}
    changes = []
    for key in sorted(set(old) | set(new)):
        name = _printable(key)
        if key not in new:
            changes.append(f"template {name} removed")
        elif key not in old:
            changes.append(f"template {name} added ({new[key]['layer']})")
        elif old[key] != new[key]:
            changes.append(f"template {name} changed ({new[key]['layer']})")
    return changes


def _audience_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    was, now = before.get("count"), after.get("count")
    if was != now:
        return f"audience changed ({was} recipients approved, {now} now)"
    return f"audience changed (same count {now}, different recipients, addresses or locales)"
