"""Printing: human tables by default, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from incident_svc.cli.safe_text import SafeConsole, literal, visible

TOKEN_WIDTH = 25
MIN_SHARE = 8
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
    table = Table(title=literal(title) if title else None, show_lines=False)
    whole, share = _widths(cells, columns)
    for column, width in zip(columns, whole, strict=True):
        table.add_column(
            literal(column.replace("_", " ")),
            min_width=width,
            max_width=width or share,
        )
    for line in cells:
        table.add_row(*(literal(cell) for cell in line))
    console.print(table)


def _widths(cells: list[list[str]], columns: Sequence[str]) -> tuple[list[int | None], int]:
    """Short one-word values (references, states, times) are kept whole as far as the
    terminal's width allows, and the other columns share what is left (and wrap)."""
    count = len(columns)
    whole: list[int | None] = []
    for index, column in enumerate(columns):
        values = [line[index] for line in cells]
        keep = values and all(" " not in v and len(v) <= TOKEN_WIDTH for v in values)
        words = column.split("_")
        whole.append(max(len(v) for v in values + words) if keep else None)
    room = console.width - 3 * count - 1
    while sum(w or MIN_SHARE for w in whole) > room and any(whole):
        widest = max(range(count), key=lambda i: whole[i] or 0)
        whole[widest] = None  # this one may be cut after all
    rest = whole.count(None)
    share = max(MIN_SHARE, (room - sum(w or 0 for w in whole)) // rest) if rest else room
    return whole, share


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
