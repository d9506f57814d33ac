"""A time limit on rendering one template, enforced inside the rendering thread.

Jinja compiles templates to Python, so a template that loops for a long time is running
Python bytecode: a watchdog thread (one per process, started on first use) raises
:class:`RenderTimeout` in the rendering thread once its deadline has passed, with
``PyThreadState_SetAsyncExc``, which the interpreter delivers between two bytecodes. One C
call that runs long is not interrupted; the sandbox's size caps keep those short
(:mod:`incident_svc.notices.sandbox`).

Every render registers a :class:`_Slot`; the watchdog fires a slot at most once and forgets
it; a render that ends clears a fired exception not yet delivered, under the same lock, so
the exception can never land outside the render it was meant for.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

TICK_SECONDS = 0.05


class RenderTimeout(BaseException):
    """Raised inside a render that ran past its deadline (BaseException: no template's
    ``except Exception`` in a library can swallow it)."""


@dataclass
class _Slot:
    deadline: float
    fired: bool = False


_lock = threading.Lock()
_slots: dict[int, _Slot] = {}
_watchdog: threading.Thread | None = None


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else ctypes.c_void_p(0)
    )


def _watch() -> None:
    while True:
        time.sleep(TICK_SECONDS)
        now = time.monotonic()
        with _lock:
            for thread_id, slot in list(_slots.items()):
                if slot.deadline <= now:
                    slot.fired = True
                    del _slots[thread_id]
                    _set_async_exc(thread_id, RenderTimeout)


def _ensure_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():  # a forked child has no threads
        _watchdog = threading.Thread(target=_watch, name="template-deadline", daemon=True)
        _watchdog.start()


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`RenderTimeout` in the block once it has run ``seconds``; a block that
    ends after its deadline without having been interrupted raises it on exit."""
    thread_id = threading.get_ident()
    slot = _Slot(deadline=time.monotonic() + seconds)
    with _lock:
        if thread_id in _slots:  # a render inside a render: the outer deadline holds
            slot = _slots[thread_id]
            nested = True
        else:
            _slots[thread_id] = slot
            nested = False
            _ensure_watchdog()
    if nested:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            if _slots.get(thread_id) is slot:
                del _slots[thread_id]
            if slot.fired:
                _set_async_exc(thread_id, None)  # not delivered yet: never deliver it
    if slot.fired:
        raise RenderTimeout
