"""Evidence of a met obligation: a regular file, hashed (SHA-256) and kept in var_dir/evidence.

The file is opened without following it into a FIFO or device (checked on the open handle,
so a swap between check and open cannot block or feed us an endless stream), read up to the
configured cap, and stored under its hash, so the same evidence is kept once.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from incident_svc.errors import ValidationError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Evidence:
    name: str
    sha256: str
    size: int
    stored: Path


def keep(path: Path, *, store: Path, max_bytes: int) -> Evidence:
    """Hash ``path`` and copy it to ``store/<sha256>``; ValidationError naming the file if not."""
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ValidationError(
            f"cannot read: {exc.strerror}", file=where, field="evidence"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError("is not a regular file", file=where, field="evidence")
        if info.st_size > max_bytes:
            raise ValidationError(
                f"is larger than compliance.evidence_max_bytes ({max_bytes:,} bytes)",
                file=where,
                field="evidence",
            )
        store.mkdir(parents=True, exist_ok=True)
        digest, size, temporary = _copy(handle, store, max_bytes, where)
    target = store / digest
    os.replace(temporary, target)
    return Evidence(name=path.name[:256], sha256=digest, size=size, stored=target)


def _copy(handle: BinaryIO, store: Path, max_bytes: int, where: str) -> tuple[str, int, Path]:
    digest = hashlib.sha256()
    size = 0
    out_fd, out_name = tempfile.mkstemp(dir=store, prefix=".incoming-")
    try:
        with os.fdopen(out_fd, "wb") as out:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:  # grew while we read it
                    raise ValidationError(
                        f"is larger than compliance.evidence_max_bytes ({max_bytes:,} bytes)",
                        file=where,
                        field="evidence",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(out_name).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size, Path(out_name)
