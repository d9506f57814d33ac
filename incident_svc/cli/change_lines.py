"""What an update changed, as short human lines: never whole dicts or Python reprs.

``INC-2026-0007 severity: high -> critical``, ``INC-2026-0007 systems: added billing``,
``INC-2026-0007 en what happened: changed to "A backup bucket was ..."``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHOWN = 60  # characters of a changed text that are shown


def change_lines(ref: str, diff: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for name, change in diff.items():
        old, new = change.get("old"), change.get("new")
        label = name.replace("_", " ")
        if name == "texts":
            lines += [f"{ref} {line}" for line in _text_lines(old or {}, new or {})]
        elif isinstance(old, list) or isinstance(new, list):
            lines.append(f"{ref} {label}: {_list_change(old or [], new or [])}")
        else:
            lines.append(f"{ref} {label}: {_plain(old)} -> {_plain(new)}")
    return lines


def _plain(value: Any) -> str:
    return "-" if value in (None, "") else str(value)


def _list_change(old: list[Any], new: list[Any]) -> str:
    added = [str(v) for v in new if v not in old]
    removed = [str(v) for v in old if v not in new]
    parts = [f"added {', '.join(added)}"] if added else []
    parts += [f"removed {', '.join(removed)}"] if removed else []
    return "; ".join(parts) or f"now {', '.join(map(str, new)) or '-'}"


def _text_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for locale in sorted(set(old) | set(new)):
        before, after = old.get(locale) or {}, new.get(locale) or {}
        for key in sorted(set(before) | set(after)):
            label = f"{locale} {key.replace('_', ' ')}"
            if key not in after:
                lines.append(f"{label}: removed")
            elif before.get(key) != after[key]:
                verb = "changed to" if key in before else "set to"
                lines.append(f'{label}: {verb} "{_short(str(after[key]))}"')
    return lines


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
