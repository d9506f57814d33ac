"""Reading an operator's input file safely: a regular file only (never a device or FIFO,
which could block or never end), at most ``cap`` bytes; every failure one line naming it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from incident_svc.errors import ValidationError


def read_capped(path: Path, *, cap: int, field: str) -> bytes:
    """The file's bytes; ValidationError naming the file if it is not a regular file of at
    most ``cap`` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang before we can refuse it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValidationError(
            f"cannot read it: {exc.strerror}", file=shown(path), field=field
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError("not a regular file", file=shown(path), field=field)
        if info.st_size > cap:
            raise ValidationError(
                f"{info.st_size} bytes, more than the {cap} allowed", file=shown(path), field=field
            )
        chunks: list[bytes] = []
        size = 0
        while size <= cap:
            data = os.read(fd, cap + 1 - size)
            if not data:
                break
            chunks.append(data)
            size += len(data)
    except OSError as exc:
        raise ValidationError(
            f"cannot read it: {exc.strerror}", file=shown(path), field=field
        ) from None
    finally:
        os.close(fd)
    content = b"".join(chunks)
    if len(content) > cap:
        raise ValidationError(f"more than the {cap} bytes allowed", file=shown(path), field=field)
    return content


def shown(path: Path) -> str:
    """The path for a one-line message: control characters written as escapes."""
    return "".join(f"\\x{ord(c):02x}" if _control(c) or c == "\t" else c for c in str(path))


def read_text(path: Path, *, cap: int, field: str) -> str:
    """A UTF-8 text file (see :func:`read_capped`), without control characters other than
    newline and tab, and not empty."""
    data = read_capped(path, cap=cap, field=field)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"not UTF-8 (byte {exc.start})", file=shown(path), field=field
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        bad = next((c for c in line if _control(c)), None)
        if bad is not None:
            raise ValidationError(
                f"line {number} contains control character U+{ord(bad):04X}",
                file=shown(path),
                field=field,
            )
    if not text.strip():
        raise ValidationError("the file is empty", file=shown(path), field=field)
    return text.strip()


def _control(char: str) -> bool:
    code = ord(char)
    return char != "\t" and (code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029))
