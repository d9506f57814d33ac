"""Where checkpoints are kept outside the database: the append-only file, and reading them back.

The file holds one checkpoint per line (domain/checkpoints.py). It is only ever opened with
``O_APPEND`` and each line goes out in one ``write`` followed by ``fsync``, so a line is
whole or absent. Reading accepts a checkpoint file or a feed URL (``/v1/audit/checkpoints``)
and says, for a line that is not a checkpoint, which line and why.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.domain.checkpoints import Checkpoint, CheckpointFormatError, from_mapping, parse
from incident_svc.errors import ValidationError

FILE_NAME = "audit-checkpoints.jsonl"
FEED_PATH = "/v1/audit/checkpoints"
_MAX_SOURCE_BYTES = 64 * 1024 * 1024
_URL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Loaded:
    """What one witness holds: its checkpoints (with where each was found) or a bad line."""

    source: str
    points: list[tuple[str, Checkpoint]]
    bad: tuple[str, str] | None = None  # (where, why) of the first line that is no checkpoint


def checkpoint_file(settings: Settings) -> Path:
    return settings.audit.checkpoint_file or settings.var_dir / FILE_NAME


def append(path: Path, point: Checkpoint) -> None:
    """Add one line to the file witness (created on first use)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, (point.line() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def last_in_file(path: Path) -> Checkpoint | None:
    """The newest well-formed checkpoint in the file (read from its end), or none."""
    for line in reversed(_tail(path)):
        try:
            return parse(line)
        except CheckpointFormatError:
            continue
    return None


def recent(path: Path, limit: int) -> list[Checkpoint]:
    """Up to ``limit`` newest well-formed checkpoints, oldest first (for the feed)."""
    found: list[Checkpoint] = []
    for line in reversed(_tail(path)):
        try:
            found.append(parse(line))
        except CheckpointFormatError:
            continue
        if len(found) == limit:
            break
    return found[::-1]


def _tail(path: Path, size: int = 256 * 1024) -> list[bytes]:
    try:
        with path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, end - size))
            data = handle.read()
            start = max(0, end - size)
    except OSError:
        return []
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first one is cut
    return [line for line in lines if line.strip()]


def load(source: str) -> Loaded:
    """Every checkpoint in a file or at a feed URL; refused (one line) when unreadable."""
    if source.startswith(("http://", "https://")):
        return _load_url(source)
    return _load_file(Path(source))


def _load_file(path: Path) -> Loaded:
    data = _read_file(path)
    points: list[tuple[str, Checkpoint]] = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    for number, line in enumerate(lines, start=1):
        where = f"{path} line {number}"
        try:
            points.append((where, parse(line)))
        except CheckpointFormatError as exc:
            return Loaded(str(path), points, (where, str(exc)))
    return Loaded(str(path), points)


def _read_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValidationError(f"checkpoints {path}: {exc.strerror}", field="checkpoints") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(f"checkpoints {path}: not a regular file", field="checkpoints")
        if info.st_size > _MAX_SOURCE_BYTES:
            raise ValidationError(
                f"checkpoints {path}: larger than {_MAX_SOURCE_BYTES // 2**20} MiB",
                field="checkpoints",
            )
        return handle.read()


def _load_url(url: str) -> Loaded:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_URL_TIMEOUT) as answer:
            body = answer.read(_MAX_SOURCE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ValidationError(f"checkpoints {url}: {reason}", field="checkpoints") from None
    try:
        items = json.loads(body)["checkpoints"]
        if not isinstance(items, list):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):
        return Loaded(url, [], (url, "not a checkpoint feed (JSON with a checkpoints list)"))
    points: list[tuple[str, Checkpoint]] = []
    for number, item in enumerate(items, start=1):
        where = f"{url} item {number}"
        try:
            points.append((where, from_mapping(item)))
        except CheckpointFormatError as exc:
            return Loaded(url, points, (where, str(exc)))
    return Loaded(url, points)
