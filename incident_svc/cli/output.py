"""Printing: human tables by default, JSON for scripts."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.cells import cell_len
from rich.table import Table

from incident_svc.cli.safe_text import SafeConsole, literal, visible

TOKEN_WIDTH = 25
MIN_SHARE = 8  # the narrowest a wrapping column gets in a framed table
MIN_FREE = 3  # ... and in one without a frame, where room is short
JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")

# stored values are shown literally, control characters visible (cli/safe_text.py)
console = SafeConsole(highlight=False, soft_wrap=True)
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n")


def print_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, title: str | None = None
) -> None:
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    layout = _layout(cells, columns, console.width)
    table = Table(title=literal(title) if title else None, show_lines=False, **layout.style())
    for column, width in zip(columns, layout.whole, strict=True):
        table.add_column(
            literal(column.replace("_", " ")),
            min_width=width,
            max_width=width or layout.share,
        )
    for line in cells:
        table.add_row(*(literal(cell) for cell in line))
    console.print(table)


# columns that identify a row or say when: kept whole the longest, after free text and states
_KEY_NAMES = {"id", "ref", "seq", "matter", "incident", "campaign", "target", "at", "due", "number"}
_KEY_SUFFIXES = ("_id", "_ref", "_at", "_until", "_utc")
_KEY_VALUE = re.compile(
    r"\d+|[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d)?(?:Z|[+-]\d\d:\d\d)?)?"
)


@dataclass
class _Layout:
    whole: list[int | None]  # a width for a column kept whole, None for one that may wrap
    share: int  # the width of each column that may wrap
    compact: bool  # no frame: one space between columns, a rule under the header

    def style(self) -> dict[str, Any]:
        if self.compact:
            return {"box": box.SIMPLE_HEAD, "show_edge": False, "padding": (0, 0)}
        return {}


def _layout(cells: list[list[str]], columns: Sequence[str], width: int) -> _Layout:
    """Short one-word values (references, times, states) are kept whole as far as the
    terminal's width allows, and the other columns share what is left (and wrap). Where all
    do not fit, free text and states give way first, then the headers of references, ids and
    times (cut, their values kept), and those values last; a table that cannot keep them
    whole in a frame is printed without one (one space between columns)."""
    count = len(columns)
    natural: list[int | None] = []  # values and header words whole
    narrow: list[int] = []  # values whole, the header may be cut
    key: list[bool] = []
    for index, column in enumerate(columns):
        values = [line[index] for line in cells]
        keep = values and all(" " not in v and cell_len(v) <= TOKEN_WIDTH for v in values)
        words = column.split("_")
        natural.append(max(cell_len(v) for v in values + words) if keep else None)
        narrow.append(max([MIN_FREE, *(cell_len(v) for v in values)]))
        key.append(
            bool(keep)
            and (
                column in _KEY_NAMES
                or column.endswith(_KEY_SUFFIXES)
                or _looks_like_keys([v for v in values if v != "-"])
            )
        )
    layouts = []
    for compact in (False, True):
        room = width - (count - 1 if compact else 3 * count + 1)
        floor = MIN_FREE if compact else MIN_SHARE
        whole = _fit(natural, narrow, key, room, floor)
        rest = whole.count(None)
        share = max(floor, (room - sum(w or 0 for w in whole)) // rest) if rest else room
        # what it costs: references, ids and times cut, then any column or header cut
        lost = [i for i in range(count) if whole[i] != natural[i]]
        cost = (sum(1 for i in lost if key[i] and whole[i] is None), len(lost))
        layouts.append((cost, compact, _Layout(whole, share, compact)))
    return min(layouts, key=lambda found: found[:2])[2]  # the frame when it costs no more


def _fit(
    natural: list[int | None], narrow: list[int], key: list[bool], room: int, floor: int
) -> list[int | None]:
    whole = list(natural)
    count = len(whole)
    while sum(w or floor for w in whole) > room and any(whole):
        free = [i for i in range(count) if whole[i] and not key[i]]
        long_header = [i for i in range(count) if key[i] and (whole[i] or 0) > narrow[i]]
        if free:
            widest = max(free, key=lambda i: whole[i] or 0)
            whole[widest] = None  # this one may wrap or be cut after all
        elif long_header:
            widest = max(long_header, key=lambda i: (whole[i] or 0) - narrow[i])
            whole[widest] = narrow[widest]
        else:
            widest = max(range(count), key=lambda i: whole[i] or 0)
            whole[widest] = None
    return whole


def _looks_like_keys(values: list[str]) -> bool:
    """Numbers, references (``INC-2026-0007``, ``P-0030``) or times, and at least one."""
    return bool(values) and all(_KEY_VALUE.fullmatch(v) for v in values)


def print_fields(data: Mapping[str, Any]) -> None:
    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        console.print(f"{key.replace('_', ' '):<{width}}  {_cell(value)}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        if value.utcoffset() == timedelta(0):
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.isoformat(timespec="seconds")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_cell(v)}" for k, v in value.items()) or "-"
    return visible(str(value))


def error(message: str) -> None:
    err_console.print(f"error: {message}")
