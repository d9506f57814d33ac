"""Printing: human tables by default, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "))
    for row in rows:
        # Text: values from data are never read as Rich markup
        table.add_row(*(Text(_cell(row.get(column))) for column in columns))
    console.print(table)


def print_fields(data: Mapping[str, Any]) -> None:
    width = max((len(key) for key in data), default=0)
    for key, value in data.items():
        console.print(f"{key.replace('_', ' '):<{width}}  {_cell(value)}", markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def error(message: str) -> None:
    err_console.print(f"error: {message}", markup=False)
