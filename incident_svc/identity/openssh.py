"""SSH signatures (SSHSIG) made and checked by OpenSSH's own ``ssh-keygen -Y``.

No cryptography of ours: ``ssh-keygen -Y find-principals`` names the principal whose key made
a signature, per an ``allowed_signers`` file in OpenSSH's format (see ssh-keygen(1), section
ALLOWED SIGNERS), and ``ssh-keygen -Y verify`` checks the signature over the exact text, in
our namespace, for that principal (honouring the file's ``namespaces=`` and validity options).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from incident_svc.domain.identity import SIGNATURE_NAMESPACE
from incident_svc.errors import ConfigError, ValidationError

SSH_KEYGEN = "ssh-keygen"
ARMOR_START = b"-----BEGIN SSH SIGNATURE-----"
MAX_SIGNATURE_BYTES = 64 * 1024
TIMEOUT_SECONDS = 30.0


def _program() -> str:
    found = shutil.which(SSH_KEYGEN)
    if found is None:
        raise ConfigError(
            "ssh-keygen (OpenSSH) is needed for SSH-signed approvals and is not on PATH; "
            "install openssh-client",
            key="approval.mode",
        )
    return found


async def _run(args: list[str], stdin: bytes | None) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        _program(),
        *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ValidationError(f"ssh-keygen {args[0]} {args[1]} did not finish") from None
    return process.returncode or 0, out, err


def _last_line(err: bytes) -> str:
    lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no reason given"


def check_armor(signature: bytes, *, source: str) -> None:
    """ValidationError unless ``signature`` looks like one armoured SSH signature."""
    if len(signature) > MAX_SIGNATURE_BYTES or not signature.lstrip().startswith(ARMOR_START):
        raise ValidationError(
            "is not an SSH signature (expected -----BEGIN SSH SIGNATURE-----, as made by "
            f"ssh-keygen -Y sign -n {SIGNATURE_NAMESPACE})",
            file=source,
        )


def _readable(allowed_signers: Path) -> None:
    if not allowed_signers.is_file():
        raise ConfigError(
            f"approval.allowed_signers: {allowed_signers} is not a readable file",
            key="approval.allowed_signers",
        )


async def verify(text: bytes, signature: bytes, allowed_signers: Path, *, source: str) -> str:
    """The one principal whose key signed ``text`` in our namespace; ValidationError if none."""
    check_armor(signature, source=source)
    _readable(allowed_signers)
    with tempfile.TemporaryDirectory(prefix="incident-svc-sig-") as folder:
        sig_file = Path(folder) / "signature"
        sig_file.write_bytes(signature)
        code, out, err = await _run(
            ["-Y", "find-principals", "-s", str(sig_file), "-f", str(allowed_signers)], None
        )
        principals = out.decode("utf-8", "replace").split()
        if code != 0 or not principals:
            raise ValidationError(
                f"its key is not listed in {allowed_signers} ({_last_line(err)})", file=source
            )
        if len(principals) > 1:
            raise ValidationError(
                f"its key is listed for {len(principals)} principals ({', '.join(principals)}) "
                f"in {allowed_signers}; list each key for exactly one person",
                file=source,
            )
        code, out, err = await _run(
            ["-Y", "verify", "-f", str(allowed_signers), "-I", principals[0],
             "-n", SIGNATURE_NAMESPACE, "-s", str(sig_file)],
            text,
        )  # fmt: skip
    if code != 0:
        raise ValidationError(
            f"the signature of {principals[0]} does not verify over the text to sign in "
            f"namespace {SIGNATURE_NAMESPACE}: made for another campaign or digest, in another "
            f"namespace, or the campaign changed since (`campaign approval-text`) "
            f"({_last_line(err)})",
            file=source,
        )
    return principals[0]


async def sign(text: bytes, key_file: Path) -> bytes:
    """An armoured signature of ``text`` with ``key_file`` (a private key, or the public key
    of one held by ssh-agent); ssh-keygen asks for a passphrase on the terminal if needed."""
    _key_exists(key_file)
    code, out, err = await _run(
        ["-Y", "sign", "-q", "-f", str(key_file), "-n", SIGNATURE_NAMESPACE], text
    )
    if code != 0 or not out.startswith(ARMOR_START):
        raise ValidationError(
            f"ssh-keygen could not sign with it ({_last_line(err)})",
            file=str(key_file),
            field="--sign-with",
        )
    return out


async def generate_key(path: Path, comment: str) -> str:
    """A new passphrase-less ed25519 key at ``path``; returns the public key line (type, key)."""
    code, _, err = await _run(
        ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], None
    )
    if code != 0:
        raise ValidationError(
            f"ssh-keygen could not make a key ({_last_line(err)})", file=str(path)
        )
    return _public_line(path)


def _key_exists(key_file: Path) -> None:
    if not key_file.is_file():
        raise ValidationError("no such key file", file=str(key_file), field="--sign-with")


def _public_line(path: Path) -> str:
    kind, key, *_ = Path(f"{path}.pub").read_text(encoding="ascii").split()
    return f"{kind} {key}"
