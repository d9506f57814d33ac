"""Opening a file someone named on the command line: a regular file, of a sane size.

A device (``/dev/zero`` never ends), a FIFO (reading it blocks until someone writes) or a
folder is refused as "not a regular file" before a byte is read; the file is opened without
blocking and checked again on the open descriptor, so a name swapped in between does not get
through. Small inputs (``--include``, ``--exclude``, ``--texts``) are read whole, up to a cap.
"""

from __future__ import annotations

import os
import stat
from io import BufferedReader
from pathlib import Path

from incident_svc.errors import ValidationError

MIB = 1024 * 1024


def open_regular(path: Path) -> BufferedReader:
    """``path`` opened for reading in binary; refused unless it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ValidationError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise ValidationError("not a regular file (a folder)", file=str(path)) from None
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror}", file=str(path)) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind:
            raise ValidationError(f"not a regular file ({kind})", file=str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket or other special file"


def regular_size(path: Path) -> int:
    """The size of a regular file (see ``open_regular`` for what is refused)."""
    with open_regular(path) as handle:
        return os.fstat(handle.fileno()).st_size


def read_capped(path: Path, cap: int, option: str) -> bytes:
    """The whole of a small input file; one larger than ``cap`` bytes is refused."""
    with open_regular(path) as handle:
        try:
            data = handle.read(cap + 1)
        except OSError as exc:
            raise ValidationError(f"cannot read: {exc.strerror}", file=str(path)) from None
    if len(data) > cap:
        limit = f"{cap // MIB} MiB" if cap % MIB == 0 else f"{cap} bytes"
        raise ValidationError(f"larger than {limit}, the limit for {option} files", file=str(path))
    return data
