"""Writing an export file safely: all of it or nothing, never over a file by accident.

Every export (`incident affected --export`, `campaign ledger --export`, `audit export`,
`notice preview --out`, the import rejects file) goes through ``export_file``:

- the target is checked first: its folder must exist, it must not be a symbolic link (never
  followed: a link could point anywhere, such as a file of another user), a folder, or an
  existing file unless ``force`` was given;
- the data goes to a temporary file in the same folder (mode 0600: exports hold personal
  data), is flushed to disk, and only then renamed onto the target, so a reader sees the old
  file or the whole new one; without ``force`` the rename refuses a file that appeared
  meanwhile;
- on any failure (a full disk, an error while the rows are read) the temporary file is
  removed and no partial file is left.

A caller that must commit something only if the export was written (``incident affected``)
writes into the temporary file inside its transaction; ``export_file`` renames it after the
``with`` block, that is after the commit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

from incident_svc.errors import ConflictError, ValidationError


def check_target(path: Path, *, force: bool) -> None:
    """Refuse a target that cannot or must not be written, before any work starts."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ValidationError(f"cannot write: {exc.strerror}", file=str(path)) from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise ValidationError(
            "is a symbolic link; exports never follow links, name the file itself", file=str(path)
        )
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ValidationError("is a folder; name a file in it", file=str(path))
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ValidationError("is not a regular file", file=str(path))
    if info is not None and not force:
        raise ConflictError(f"{path}: exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise ValidationError(f"no such folder: {path.parent}", file=str(path))


@overload
def export_file(
    path: Path, *, force: bool, binary: Literal[False] = False
) -> contextlib.AbstractContextManager[IO[str]]: ...


@overload
def export_file(
    path: Path, *, force: bool, binary: Literal[True]
) -> contextlib.AbstractContextManager[IO[bytes]]: ...


def export_file(path: Path, *, force: bool, binary: bool = False) -> Any:
    """A handle on a temporary file that becomes ``path`` when the block ends without error."""
    check_target(path, force=force)
    return _writing(path, force, binary)


@contextlib.contextmanager
def _writing(path: Path, force: bool, binary: bool) -> Iterator[IO[Any]]:
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ValidationError(f"cannot write: {exc.strerror}", file=str(path)) from None
    temp = Path(name)
    try:
        with (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _publish(temp, path, force)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ValidationError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _publish(temp: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(temp, path)  # replaces a link itself, never what it points to
        return
    try:
        os.link(temp, path)  # fails if the name was taken meanwhile: nothing is overwritten
    except FileExistsError:
        raise ConflictError(f"{path}: exists; pass --force to replace it") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise
        if path.exists() or path.is_symlink():  # a file system without hard links
            raise ConflictError(f"{path}: exists; pass --force to replace it") from None
        os.replace(temp, path)
        return
    temp.unlink()
