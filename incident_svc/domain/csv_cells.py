"""CSV cells a spreadsheet will not run as a formula (OWASP CSV injection). Pure.

A cell that starts with ``= + - @``, tab, CR or NUL (past spaces and double quotes) gets an
apostrophe before that character. So does every piece of a cell that starts after a ``,`` or
``;``: a spreadsheet that reads the file with the other separator (many locales use ``;``)
splits the cell there, and the piece would start a cell of its own.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
_PIECE_FORMULA = re.compile(r'(^|[,;])([ "]*)([=+\-@\t\r\0])')


def safe_cell(value: Any) -> Any:
    """``value`` with every formula start neutralised; values that are not text unchanged."""
    if not isinstance(value, str):
        return value
    return _PIECE_FORMULA.sub(r"\1\2'\3", value)
