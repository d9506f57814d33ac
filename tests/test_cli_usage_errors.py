"""Usage errors (an unknown option, a missing argument or option, a value of the wrong type,
an extra argument) are one line on stderr naming what is wrong, with the command's --help as
the hint, and Click's documented exit code 2: never Click's framed box, never a traceback,
never a raw control character from the argument, however long or hostile the argv.

The hypothesis tests run the real command tree in-process (typer's CliRunner); a few fixed
cases run the console entry (``python -m incident_svc``) in a subprocess, with argv bytes that
are not UTF-8 too. No database is needed: parsing fails before any command runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from incident_svc.cli.main import app

# raw controls that must never reach the terminal (C0 but none, DEL, C1, bidi, separators)
RAW_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
PIECES = ["\x1b[2J", "\x1b]0;pwned\x07", "\n", "\r", "\t", "\x00", "\x9b", "\u202e", "\u2028",
          "[/x]", "[bold]", "é", "中文", "=", " ", "'", '"']  # fmt: skip


def _leaves(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    # Click's group API, not ``.commands``: the root loads its commands on demand
    if not hasattr(command, "list_commands"):
        return [(path, command)]
    return [
        leaf
        for name in command.list_commands(None)
        for leaf in _leaves(command.get_command(None, name), (*path, name))
    ]


LEAVES = _leaves(typer.main.get_command(app))
PATHS = [path for path, _ in LEAVES]
# commands with a required argument or option: invoked bare, they must say what is missing
NEEDS = [path for path, command in LEAVES if any(p.required for p in command.params)]
INT_FIRST = [("campaign", "show"), ("campaign", "status"), ("campaign", "approve"),
             ("banner", "show")]  # fmt: skip

HOSTILE = st.lists(
    st.sampled_from(PIECES) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    max_size=5,
).map("".join)
# a filler argument that is no option (so never --help, -h or --)
FILLER = HOSTILE.filter(lambda s: not s.startswith("-"))


def _check(argv: list[str], *, expect: str | None = None) -> str:
    result = CliRunner().invoke(app, argv)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    assert result.exit_code == 2, (argv, result.exit_code, result.output)
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    [line] = lines
    assert line.startswith("error: ") and "--help'" in line, line
    assert not RAW_CONTROL.search(line), ascii(line)
    assert len(line) < 600, len(line)
    if expect is not None:
        assert expect in line, line
    return line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PATHS),
    fillers=st.lists(FILLER, max_size=3),
    bad=HOSTILE,
    where=st.integers(0, 3),
)
def test_an_unknown_option_is_one_line(
    path: tuple[str, ...], fillers: list[str], bad: str, where: int
) -> None:
    option = "--no-such-" + bad.replace("=", "")
    argv = [*path, *fillers]
    argv.insert(len(path) + min(where, len(fillers)), option)
    line = _check(argv)
    assert "No such option: --no-such-" in line or "unexpected extra argument" in line, line


@settings(max_examples=20, deadline=None)
@given(path=st.sampled_from(NEEDS))
def test_a_missing_argument_or_option_is_named(path: tuple[str, ...]) -> None:
    _check(list(path), expect="Missing ")


@settings(max_examples=20, deadline=None)
@given(path=st.sampled_from(INT_FIRST), value=FILLER.filter(lambda s: not s.strip().isdigit()))
def test_a_value_of_the_wrong_type_names_the_argument(path: tuple[str, ...], value: str) -> None:
    name = "'campaign_id'" if path[0] == "campaign" else "'ID'"
    _check([*path, value], expect=f"Invalid value for {name}")


@settings(max_examples=4, deadline=None)
@given(size=st.integers(5_000, 300_000), piece=st.sampled_from(PIECES))
def test_huge_values_are_clipped_to_one_short_line(size: int, piece: str) -> None:
    huge = (piece + "x" * 97) * (size // 100)
    _check(["campaign", "show", "1", huge], expect="unexpected extra argument")
    _check(["campaign", "show", "9" * size])  # no number that long: one line, no traceback
    _check(["campaign", "show", "--" + huge.replace("=", "")], expect="No such option")


def test_a_subcommand_typo_suggests_the_command() -> None:
    line = _check(["campaign", "crate"], expect="No such command 'crate'")
    assert "create" in line and "'incident-svc campaign --help'" in line


def test_an_option_without_its_value_names_it() -> None:
    _check(["campaign", "create", "INC-2026-0001", "--kind"], expect="'--kind'")


@pytest.mark.parametrize(
    "argv",
    [
        [b"campaign", b"show", b"--\x1b]0;pwned\x07"],
        [b"campaign", b"create"],
        [b"campaign", b"show", b"\xe2\x80\xae12"],
        [b"--config"],
        [b"nonsense\x1b[2J"],
        [b"campaign", b"show", b"\xff\xfe"],  # not UTF-8: refused before parsing (exit 5)
    ],
)
def test_the_console_entry_prints_one_line(argv: list[bytes], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENT_SVC_")}
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"incident_svc", *argv],
        capture_output=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=120,
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == (5 if b"\xff" in argv[-1] else 2), err
    assert b"Traceback" not in done.stderr and done.stdout == b""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert not RAW_CONTROL.search(lines[0]), ascii(lines[0])
    assert list(tmp_path.iterdir()) == []  # nothing created
