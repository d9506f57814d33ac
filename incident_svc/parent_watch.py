"""Worker processes that end with the process that started them.

A spawned worker blocked on its queue outlives a parent killed with SIGKILL (nothing tells
it); an orphan holds memory and the parent's inherited stdout and stderr. Each worker calls
:func:`exit_with_parent` first thing: a daemon thread notices the parent is gone (the worker
was adopted by another process) and ends the worker at once.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_SECONDS = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """End this process within ``CHECK_SECONDS`` of ``parent_pid`` ending."""
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(CHECK_SECONDS)
    os._exit(0)
