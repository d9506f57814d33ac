"""Log records in a command that configured no logging (every command but `serve`): one line
each on stderr, never a traceback.

Libraries log what they ride out themselves (asyncpg's pool refilling itself while the
database is away logs a warning with the exception attached); Python's last-resort handler
would print that traceback. The foreground commands print their own one-line account of a
fault instead (`campaign send --now`), so the pool's own retry chatter is kept below ERROR.
"""

from __future__ import annotations

import logging
import sys


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        lines = record.getMessage().strip().splitlines() or [""]
        return f"{record.levelname.lower()}: {lines[0]}"


def install() -> None:
    """Replace the last-resort handler (used only when nothing else was configured)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_OneLine())
    logging.lastResort = handler
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
