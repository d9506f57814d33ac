"""Two operators on one machine, told apart by SSH keys: what the demo approves with.

The keys are made by ssh-keygen in the demo folder on the first run and reused after, with an
OpenSSH allowed_signers file naming each key's principal; the demo runs in signed approval
mode, so its four-eyes approval is by two keys that truly differ, although one OS account
runs both steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.identity import openssh

ANALYST_KEY = "analyst"  # signs the campaigns' creation
APPROVER_KEY = "approver"  # signs their approval


@dataclass(frozen=True)
class DemoKeys:
    folder: Path

    def key(self, name: str) -> Path:
        return self.folder / f"{name}_ed25519"

    @property
    def allowed_signers(self) -> Path:
        return self.folder / "allowed_signers"

    def signed_mode(self, settings: Settings) -> Settings:
        approval = settings.approval.model_copy(
            update={"mode": "signed", "allowed_signers": self.allowed_signers}
        )
        return settings.model_copy(update={"approval": approval})


async def operator_keys(folder: Path) -> DemoKeys:
    """The demo's two keys and allowed_signers under ``folder`` (made once)."""
    keys = DemoKeys(folder)
    lines = []
    for name in (ANALYST_KEY, APPROVER_KEY):
        public = await _existing_or_new(keys.key(name), f"demo-{name}")
        lines.append(f"demo-{name} {public}\n")
    _write(keys.allowed_signers, "".join(lines))
    return keys


async def _existing_or_new(path: Path, comment: str) -> str:
    public = _public_line(path)
    if public is None:
        _make_folder(path.parent)
        public = await openssh.generate_key(path, comment)
    return public


def _public_line(path: Path) -> str | None:
    public = Path(f"{path}.pub")
    if not (path.is_file() and public.is_file()):
        return None
    kind, key, *_ = public.read_text(encoding="ascii").split()
    return f"{kind} {key}"


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="ascii")
