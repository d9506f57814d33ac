"""Cleaning names and other one-line values that come from data before they reach a notice."""

from __future__ import annotations

import re
import unicodedata

# Bidirectional embeddings, overrides and isolates: a name has no business reordering the text
# around it (a "right-to-left override" can make "gpj.exe" read "exe.jpg").
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def single_line(value: str) -> str:
    """One printable line: line breaks and other controls become spaces, bidi controls vanish."""
    value = _BIDI_CONTROLS.sub("", value)
    value = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return _SPACES.sub(" ", value).strip()
