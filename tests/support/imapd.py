"""A real Dovecot IMAP server on 127.0.0.1 for one test, TLS only, with a throwaway config.

Needs Debian's dovecot-imapd (.ci/system-packages installs it) and root, as CI has: Dovecot
starts as root and drops to its own users. ``imap_server(tmp_path)`` yields the host, port,
the CA to trust, and one mailbox user with a password.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.tls import make_pki

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "reports", "imap-test-password"


def available() -> str | None:
    """Why Dovecot cannot run here, or None."""
    if not os.path.exists(DOVECOT):
        return "Dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "Dovecot needs root to start"
    return None


@dataclass(frozen=True)
class Imapd:
    host: str
    port: int  # implicit TLS
    plain_port: int  # no TLS
    ca_file: Path
    user: str = USER
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
# plain IMAP on plain_port too (for security = "plain"); TLS on port
disable_plaintext_auth = no
ssl_cert = <{cert}
ssl_key = <{key}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@contextlib.contextmanager
def imap_server(tmp_path: Path) -> Iterator[Imapd]:
    pki = make_pki(tmp_path / "imap-pki", name="imap")
    mail = pwd.getpwnam("mail")
    # outside pytest's root-only temp folder: Dovecot's mail processes run as "mail"
    root = Path(tempfile.mkdtemp(prefix="incsvc-imapd-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", mail.pw_uid, mail.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port, plain_port = _free_port(), _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        _CONFIG.format(
            root=root,
            cert=pki.cert_file,
            key=pki.key_file,
            uid=mail.pw_uid,
            gid=mail.pw_gid,
            port=port,
            plain_port=plain_port,
        )
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stderr=subprocess.PIPE)
    try:
        _wait_for(port, process, root)
        _wait_for(plain_port, process, root)
        yield Imapd("127.0.0.1", port, plain_port, pki.ca_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited {process.returncode}: {log[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("dovecot did not start listening")
