"""Reading an inventory file as numbered rows, one at a time (memory stays flat).

CSV needs a header; JSON Lines has one object a line. Lines are counted from 1 (the CSV
header is line 1). File-level problems (no header, unknown columns, empty file) raise
ValidationError at once; row-level problems (a malformed line, bytes that are not UTF-8)
come out as problems for that row so that ``--skip-invalid`` can put them aside.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from incident_svc.domain.inventory_rows import COLUMNS, Problem
from incident_svc.errors import ValidationError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}

Row = tuple[int, list[str]]  # line, values in the kind's column order
Item = tuple[int, list[str] | Problem]  # a row, or the problem that stopped it being one


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
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)
    _bad_lines: set[int] = field(default_factory=set)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def rows(self) -> Iterator[Item]:
        with self.path.open("rb") as handle:
            lines = self._decoded(handle)
            if self.fmt == "csv":
                yield from self._csv_rows(lines)
            else:
                yield from self._json_rows(lines)

    def _error(self, message: str, line: int | None = 1, column: str | None = None) -> None:
        raise ValidationError(message, file=str(self.path), line=line, field=column)

    def _decoded(self, handle: BinaryIO) -> Iterator[str]:
        for number, raw in enumerate(handle, start=1):
            self._hash.update(raw)
            self.bytes_read += len(raw)
            if number == 1:
                raw = self._strip_bom(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_lines.add(number)
                yield raw.decode("utf-8", errors="surrogateescape")

    def _strip_bom(self, raw: bytes) -> bytes:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            self._error("the file is UTF-16; save it as UTF-8")
        return raw.removeprefix(b"\xef\xbb\xbf")

    def _encoding_problem(self, line: int, names: Sequence[str], values: Sequence[str]) -> Problem:
        column = next((n for n, v in zip(names, values, strict=False) if _has_surrogate(v)), "line")
        return (line, column, "is not valid UTF-8 text; the file must be UTF-8")

    def _csv_rows(self, lines: Iterator[str]) -> Iterator[Item]:
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            self._error("the file is empty; expected a header line naming the columns")
        except csv.Error as exc:
            self._error(f"malformed CSV header: {exc}")
        if 1 in self._bad_lines:
            self._error("the header is not valid UTF-8 text; the file must be UTF-8")
        index = self._column_index([name.strip().lower() for name in header])
        names = [c.name for c in COLUMNS[self.kind]]
        count = 0
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield start, (start, "line", f"malformed CSV line: {exc}")
                continue
            if not record:
                continue
            count += 1
            if len(record) != len(header):
                reason = (
                    f"malformed CSV line: expected {len(header)} fields as in the header, "
                    f"found {len(record)}"
                )
                yield start, (start, "line", reason)
            elif start in self._bad_lines:
                yield start, self._encoding_problem(start, header, record)
            else:
                yield start, [record[i] if i >= 0 else "" for i in index]
        if count == 0:
            self._error("the file has a header but no rows", line=None)
        del names

    def _column_index(self, header: list[str]) -> list[int]:
        expected = [c.name for c in COLUMNS[self.kind]]
        required = [c.name for c in COLUMNS[self.kind] if c.required]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            self._error(f"column(s) named twice in the header: {', '.join(duplicated)}")
        extra = [name for name in header if name not in expected]
        if extra and not self.ignore_extra:
            self._error(
                f"unknown column(s) {', '.join(extra)}; expected {', '.join(expected)} "
                "(or pass --ignore-extra)"
            )
        missing = [name for name in required if name not in header]
        if missing:
            self._error(f"missing required column(s): {', '.join(missing)}")
        return [header.index(name) if name in header else -1 for name in expected]

    def _json_rows(self, lines: Iterator[str]) -> Iterator[Item]:
        expected = [c.name for c in COLUMNS[self.kind]]
        count = 0
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            count += 1
            if number in self._bad_lines:
                yield number, (number, "line", "is not valid UTF-8 text; the file must be UTF-8")
                continue
            yield number, self._json_row(number, text, expected)
        if count == 0:
            self._error("the file is empty; expected one JSON object a line")

    def _json_row(self, number: int, text: str, expected: list[str]) -> list[str] | Problem:
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            return (number, "line", f"not valid JSON: {exc.msg} at column {exc.colno}")
        if not isinstance(record, dict):
            return (number, "line", "expected a JSON object")
        extra = [key for key in record if key not in expected]
        if extra and not self.ignore_extra:
            return (number, extra[0], "is not a known field (or pass --ignore-extra)")
        values: list[str] = []
        for name in expected:
            value = record.get(name)
            if isinstance(value, bool):
                values.append("true" if value else "false")
            elif value is None:
                values.append("")
            elif isinstance(value, str | int) and not isinstance(value, bool):
                values.append(str(value))
            else:
                return (number, name, f"must be a string, not {type(value).__name__}")
        return values


def _has_surrogate(text: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in text)
