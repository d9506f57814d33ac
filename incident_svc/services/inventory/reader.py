"""Reading an inventory file as numbered rows, a chunk at a time (memory stays flat).

CSV needs a header; JSON Lines has one object a line. Lines are counted from 1 (the CSV
header is line 1). File-level problems (no header, unknown columns, empty file) raise
ValidationError at once; a malformed line comes out as a problem for that line so that
``--skip-invalid`` can put it aside. Bytes that are not UTF-8 are kept as surrogate escapes,
for the row checks to report with their field (JSON Lines: the reader reports the line).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from incident_svc.domain.inventory_rows import COLUMNS, NOT_UTF8, NOT_UTF8_REASON, Problem
from incident_svc.domain.strict_json import StrictJSONError, loads
from incident_svc.errors import ValidationError
from incident_svc.services.files.input_file import open_regular

_BUFFER = 1 << 16
FLAGS = {"marketing_opt_out"}  # the one field where JSON true/false is the natural spelling
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}

Row = tuple[int, list[str]]  # line, values in the kind's column order


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in {"csv", "jsonl"}:
            raise ValidationError(f"unknown format {given!r}; use csv or jsonl", field="--format")
        return given
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValidationError(
            "cannot tell the format from the extension; name it .csv or .jsonl or pass --format",
            file=str(path),
        )
    return found


@dataclass
class Source:
    """Rows of one file, with its SHA-256 and how far reading has got."""

    path: Path
    kind: str
    fmt: str
    ignore_extra: bool = False
    bytes_read: int = 0
    sha256_from_worker: str | None = None  # set when another process read the file
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.sha256_from_worker or self._hash.hexdigest()

    def chunks(self, size: int) -> Iterator[tuple[list[Row], list[Problem]]]:
        """Rows in chunks of about ``size``, with the problems that stopped others being rows."""
        with open_regular(self.path) as handle:
            self._refuse_utf16(handle)
            text = io.TextIOWrapper(
                io.BufferedReader(_Hashing(handle, self), _BUFFER),
                encoding="utf-8-sig",
                errors="surrogateescape",  # bad bytes become a row problem, not an exception
                newline="\n",  # lines end at \n only, as the line numbers of errors count them
            )
            if self.fmt == "csv":
                yield from self._csv_chunks(text, size)
            else:
                yield from self._json_chunks(text, size)

    def _error(self, message: str, line: int | None = 1, column: str | None = None) -> None:
        raise ValidationError(message, file=str(self.path), line=line, field=column)

    def _refuse_utf16(self, handle: BinaryIO) -> None:
        if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            self._error("the file is UTF-16; save it as UTF-8")
        handle.seek(0)

    def _csv_chunks(self, text: IO[str], size: int) -> Iterator[tuple[list[Row], list[Problem]]]:
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            self._error("the file is empty; expected a header line naming the columns")
        except csv.Error as exc:
            self._error(f"malformed CSV header: {_csv_problem(exc, 1)}")
        if any(NOT_UTF8.search(name) for name in header):
            self._error("the header is not valid UTF-8 text; the file must be UTF-8")
        index = self._column_index([name.strip().lower() for name in header])
        width = len(header)
        as_is = index == list(range(width))  # the usual case: no reordering needed
        count = 0
        rows: list[Row] = []
        problems: list[Problem] = []
        append = rows.append
        done = False
        while not done:
            # one for loop over the reader while it goes well (this is the hot path); a
            # malformed record ends it, is noted, and reading goes on after it
            start = reader.line_num + 1
            try:
                for record in reader:
                    if len(record) == width:
                        append(
                            (
                                start,
                                record if as_is else [record[i] if i >= 0 else "" for i in index],
                            )
                        )
                        count += 1
                    elif record:
                        count += 1
                        reason = (
                            f"malformed CSV line: expected {width} fields as in the header, "
                            f"found {len(record)}"
                        )
                        problems.append((start, "line", reason))
                    start = reader.line_num + 1
                    if len(rows) >= size or (problems and len(rows) + len(problems) >= size):
                        yield rows, problems
                        rows, problems = [], []
                        append = rows.append
                done = True
            except csv.Error as exc:
                count += 1
                problems.append((start, "line", _csv_problem(exc, start)))
        if rows or problems:
            yield rows, problems
        if count == 0:
            self._error("the file has a header but no rows", line=None)

    def _column_index(self, header: list[str]) -> list[int]:
        expected = [c.name for c in COLUMNS[self.kind]]
        required = [c.name for c in COLUMNS[self.kind] if c.required]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            self._error(f"column(s) named twice in the header: {_names(duplicated)}")
        extra = [name for name in header if name not in expected]
        if extra and not self.ignore_extra:
            self._error(
                f"unknown column(s) {_names(extra)}; expected {', '.join(expected)} "
                "(or pass --ignore-extra)"
            )
        missing = [name for name in required if name not in header]
        if missing:
            self._error(f"missing required column(s): {', '.join(missing)}")
        return [header.index(name) if name in header else -1 for name in expected]

    def _json_chunks(self, text: IO[str], size: int) -> Iterator[tuple[list[Row], list[Problem]]]:
        expected = [c.name for c in COLUMNS[self.kind]]
        count = 0
        rows: list[Row] = []
        problems: list[Problem] = []
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            count += 1
            if NOT_UTF8.search(line):
                problems.append((number, "line", NOT_UTF8_REASON))
            else:
                item = self._json_row(number, line, expected)
                if isinstance(item, list):
                    rows.append((number, item))
                else:
                    problems.append(item)
            if len(rows) + len(problems) >= size:
                yield rows, problems
                rows, problems = [], []
        if rows or problems:
            yield rows, problems
        if count == 0:
            self._error("the file is empty; expected one JSON object a line")

    def _json_row(self, number: int, text: str, expected: list[str]) -> list[str] | Problem:
        try:
            record = loads(text)
        except StrictJSONError as exc:
            return (number, "line", str(exc))
        if not isinstance(record, dict):
            return (number, "line", "expected a JSON object")
        extra = [key for key in record if key not in expected]
        if extra and not self.ignore_extra:
            return (number, extra[0], "is not a known field (or pass --ignore-extra)")
        values: list[str] = []
        for name in expected:
            value = record.get(name)
            if value is None:
                values.append("")
            elif isinstance(value, str):
                values.append(value)
            elif isinstance(value, bool) and name in FLAGS:
                values.append("true" if value else "false")
            else:  # a number or a yes/no where a text belongs is a mistake, not a spelling
                return (number, name, f"must be a string, not {_json_type(value)}")
        return values


def _names(names: list[str]) -> str:
    """Column names for a message: a few, each cut short (a header can be anything)."""
    shown = [n if len(n) <= 40 else n[:39] + "…" for n in names[:5]]
    return ", ".join(shown) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def _csv_problem(exc: csv.Error, start: int) -> str:
    """The real problem behind the csv module's message."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is too large (over {csv.field_size_limit():,} characters)"
    if "unexpected end of data" in text or "EOF" in text:
        return f"unterminated quote: the quoted field that starts on line {start} never ends"
    return f"malformed CSV line: {text}"


class _Hashing(io.RawIOBase):
    """Hashes and counts the bytes as they are read, in the buffer's chunks."""

    def __init__(self, raw: io.BufferedReader, source: Source) -> None:
        super().__init__()
        self._raw = raw
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        if count:
            self._source._hash.update(memoryview(buffer)[:count])
            self._source.bytes_read += count
        return count or 0
