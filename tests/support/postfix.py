"""A private Postfix instance for one test: a real mail system that bounces, with its own
configuration, queue and log under the test's folder.

It accepts mail on 127.0.0.1 (a free port), delivers ``localhost`` itself (local(8): every
user who has no Unix account there bounces, after acceptance) and relays everything else,
its own delivery status notifications included, to ``relay_port`` (the test's aiosmtpd).
Postfix must be installed (``.ci/system-packages``) and the test run as root (its master
process drops privileges to the ``postfix`` user); otherwise the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTFIX = "/usr/sbin/postfix"
_SERVICES = """\
{listen} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


@dataclass(frozen=True)
class Postfix:
    host: str
    port: int
    log: Path


def available() -> bool:
    return Path(POSTFIX).exists() and os.geteuid() == 0 and shutil.which("postconf") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postfix(*, relay_port: int) -> Iterator[Postfix]:
    """Run Postfix until the block ends (skips the test when it cannot).

    Its folder is one of its own under the system's temporary folder, readable by the
    ``postfix`` user (pytest's folders are private to root)."""
    if not available():
        pytest.skip("Postfix is not installed, or the tests do not run as root")
    folder = Path(tempfile.mkdtemp(prefix="incident-svc-postfix-"))
    folder.chmod(0o755)
    try:
        with _running(folder, relay_port) as running:
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _running(folder: Path, relay_port: int) -> Iterator[Postfix]:
    conf, queue, data = folder / "conf", folder / "queue", folder / "data"
    for path in (conf, queue, data):
        path.mkdir(parents=True)
    shutil.chown(data, user="postfix")
    port = _free_port()
    (conf / "master.cf").write_text(_SERVICES.format(listen=f"127.0.0.1:{port}"))
    (conf / "main.cf").write_text(_main_cf(folder, relay_port))
    command = [POSTFIX, "-c", str(conf)]
    subprocess.run([*command, "start"], check=True, capture_output=True, timeout=60)
    try:
        yield Postfix("127.0.0.1", port, folder / "maillog")
    finally:
        subprocess.run([*command, "stop"], capture_output=True, timeout=60)


def _main_cf(folder: Path, relay_port: int) -> str:
    return f"""\
compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.internal
mydomain = test.internal
myorigin = $myhostname
mydestination = localhost, mx.test.internal
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# accept any local user at RCPT: the bounce comes after acceptance, as a report
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:{relay_port}
smtp_host_lookup = native
mynetworks = 127.0.0.0/8
maillog_file_prefixes = {folder}
maillog_file = {folder}/maillog
biff = no
smtputf8_enable = no
"""
