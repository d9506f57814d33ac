"""A minimal SMTP acknowledger for benchmarks, in a process of its own.

It answers every command with 250, swallows DATA up to the final dot, and stores nothing,
so that a benchmark measures the sender, not the server. It runs on uvloop when that is
installed (the bench extra): on this 2-core machine the sink shares a core with whatever the
sender runs besides its own thread, and on uvloop the sink costs about half the CPU per
message (an ad hoc measurement, BENCHMARKS.md 2026-12-02) without changing what it answers.

    python -m bench.fast_sink            # prints "PORT <n>" once listening on 127.0.0.1
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator

_END = b"\r\n.\r\n"


class Acknowledger(asyncio.Protocol):
    received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; both have what we use
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.in_data = False
        transport.write(b"220 fast-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(_END)
                if end < 0:
                    return
                self.buffer = self.buffer[end + len(_END) :]
                self.in_data = False
                Acknowledger.received += 1
                self.transport.write(b"250 2.0.0 Ok: queued\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            self._command(line[:4].upper())

    def _command(self, verb: bytes) -> None:
        if verb == b"EHLO":
            self.transport.write(b"250-fast-sink\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 go ahead\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 bye\r\n")
            self.transport.close()
        else:
            self.transport.write(b"250 OK\r\n")


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Acknowledger, "127.0.0.1", 0)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    print(f"RECEIVED {Acknowledger.received}", flush=True)


@contextlib.contextmanager
def running() -> Iterator[int]:
    """Start the sink in a child process; yields its port."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.fast_sink"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"fast_sink did not start: {line}")
        yield int(line[1])
    finally:
        child.terminate()
        child.wait(timeout=10)


def _run() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve())
    else:
        uvloop.run(_serve())


if __name__ == "__main__":
    _run()
