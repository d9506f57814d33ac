"""Stored text on a terminal, shown literally: never Rich markup, control characters visible.

Titles, references, actors and relay replies come from outside. Printed as they are, a
``[/x]`` in one is read as Rich markup (and crashes the table), and an escape sequence, a
line break or a bidirectional override reaches the terminal and rewrites what the operator
sees. Every human line and table cell goes through ``visible`` (``\\x1b``, ``\\n``,
``\\u202e``) and is printed as a Rich ``Text``, which is never parsed for markup or emoji.
JSON output is not touched: it escapes what it must by itself.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.text import Text

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional marks, overrides and
# isolates, and lone surrogates (bytes that were not UTF-8, which no terminal can print)
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, keep: str = "") -> str:
    """``text`` with every control character spelled out (but those in ``keep``): one line,
    printable as it is."""
    if keep:
        return _INVISIBLE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _INVISIBLE.sub(_escape, text)


def literal(value: Any) -> Text:
    """A Rich Text that shows ``value`` exactly (no markup), control characters visible."""
    return Text(visible(str(value)))


class SafeConsole(Console):
    """A Console whose ``print`` shows strings literally unless the caller passes
    ``markup=True`` for a string it wrote itself (and escaped any data in it)."""

    def print(self, *objects: Any, markup: bool | None = None, **options: Any) -> None:
        if markup is not True:
            objects = tuple(literal(o) if isinstance(o, str) else o for o in objects)
        super().print(*objects, markup=markup, **options)
