"""Header values as RFC 5322 / RFC 2047 text: refused when they carry a line break.

The Python on our machines predates the fix for CVE-2024-6923, so the standard library may
let a line break from data through into a header. Every header value we write goes through
:func:`require_single_line` first; nothing is silently repaired here (callers that hold
untrusted display names clean them with :func:`incident_svc.notices.text.single_line`).
"""

from __future__ import annotations

import base64
import re

from incident_svc.domain.emails import ascii_domain
from incident_svc.errors import ValidationError

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# RFC 5322 dot-atom text; RFC 6532 adds every non-ASCII character (controls are refused first)
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\U0010ffff-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# UTF-8 bytes per encoded-word: 64 characters, so "Subject: " plus one word fits in 78.
_WORD_BYTES = 39
_FOLD_WIDTH = 76
_ENCODED_NAME_BYTES = 45  # one encoded-word of 72 characters
_LONGEST_ASCII_NAME = 64
_LONGEST_WORD = 60  # longer words cannot be folded: such a value goes as encoded-words


def require_single_line(field: str, value: str) -> str:
    """Return ``value`` unchanged, or refuse it when it carries any kind of line break."""
    if _LINE_BREAKS.search(value):
        raise ValidationError("header value carries a line break", field=field)
    return value


def encode_words(value: str) -> list[str]:
    """RFC 2047 base64 encoded-words, each at most 75 characters, never splitting a character."""
    words: list[str] = []
    chunk = bytearray()
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(_word(bytes(chunk)))
            chunk.clear()
        chunk += encoded
    if chunk or not words:
        words.append(_word(bytes(chunk)))
    return words


def _word(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def unstructured(field: str, value: str) -> str:
    """An unstructured header value (Subject): plain folded ASCII, or encoded-words."""
    require_single_line(field, value)
    plain = _PRINTABLE_ASCII.fullmatch(value) and "=?" not in value and value == value.strip()
    if plain and max(map(len, value.split(" ")), default=0) <= _LONGEST_WORD:
        return _fold_ascii(value, first=len(field) + 2)
    return "\r\n ".join(encode_words(value))


def _fold_ascii(value: str, *, first: int) -> str:
    lines: list[str] = []
    current = ""
    width = first
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and width + len(candidate) > _FOLD_WIDTH:
            lines.append(current)
            current, width = word, 1
        else:
            current = candidate
    lines.append(current)
    return "\r\n ".join(lines)


def address(field: str, name: str, addr: str) -> str:
    """``Name <addr>`` with the name quoted or encoded as needed; the address checked."""
    require_single_line(field, name)
    addr = mailbox(field, addr)
    if not name:
        return addr
    phrase = display_name(name)
    if len(field) + len(phrase) + len(addr) + 5 > _FOLD_WIDTH:
        return f"{phrase}\r\n <{addr}>"
    return f"{phrase} <{addr}>"


def shorten_name(name: str) -> str:
    """The display name as it fits one RFC 2047 word (45 UTF-8 bytes) or 64 ASCII characters.

    A phrase of several encoded-words is read differently by different parsers (RFC 2047
    drops the space between them, Python's email package keeps it), so a long name is cut
    rather than split; the notice's body greets the reader by the full name.
    """
    if name.isascii():
        return name if len(name) <= _LONGEST_ASCII_NAME else name[: _LONGEST_ASCII_NAME - 3] + "..."
    if len(name.encode("utf-8")) <= _ENCODED_NAME_BYTES:
        return name
    cut = name
    while len(cut.encode("utf-8")) > _ENCODED_NAME_BYTES - 3:
        cut = cut[:-1]
    return cut.rstrip() + "\u2026"


def display_name(name: str) -> str:
    """A phrase as it stands, as a quoted string, or as one encoded-word (non-ASCII)."""
    name = shorten_name(name)
    plain = _PRINTABLE_ASCII.fullmatch(name) and "=?" not in name and name == name.strip()
    if plain and _ATOMS.fullmatch(name):
        return name
    if plain:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return _word(name.encode("utf-8"))


def mailbox(field: str, addr: str) -> str:
    """An addr-spec for the wire: an IDN domain as A-labels (IDNA 2008); a local part that is
    not ASCII stays UTF-8 (RFC 6532), and such a message goes only to an SMTPUTF8 relay."""
    require_single_line(field, addr)
    local, at, domain = addr.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or ".." in local or _CONTROL.search(local):
        raise ValidationError(f"{addr!r} is not an address we can send to", field=field)
    try:
        domain = ascii_domain(domain)
    except ValueError:
        raise ValidationError(f"{addr!r} has an invalid domain", field=field) from None
    if not _DOMAIN.fullmatch(domain):
        raise ValidationError(f"{addr!r} has an invalid domain", field=field)
    return f"{local}@{domain}"


def message_id(value: str) -> str:
    require_single_line("Message-ID", value)
    if not _MESSAGE_ID.fullmatch(value):
        raise ValidationError(f"{value!r} is not a Message-ID like <id@host>", field="Message-ID")
    return value
