"""Parsing JSON from outside strictly: one meaning per document, or a one-line reason.

``json.loads`` accepts what we must not store: a key given twice (the last silently wins),
``NaN`` and ``Infinity``, and ``\\ud800`` escapes that decode to lone surrogates, which no
database or terminal can encode. It also raises what is not a ``JSONDecodeError``: a number
of more than 4,300 digits (ValueError) and deep nesting (RecursionError). ``loads`` turns all
of these into ``StrictJSONError`` with a short reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class StrictJSONError(ValueError):
    """Why a JSON text was refused, in a few words."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJSONError(f"the key {key!r} is given twice")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """The value of ``text``; StrictJSONError says why it is refused."""
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
        surrogate = _has_surrogate(value)
    except StrictJSONError:
        raise
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise StrictJSONError("not valid JSON here: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise StrictJSONError(f"not valid JSON here: {str(exc).split(';')[0]}") from None
    if surrogate:
        raise StrictJSONError("contains a \\u escape of a lone surrogate, which is not text")
    return value


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False
