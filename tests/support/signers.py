"""Two operators with SSH keys of their own, for four-eyes approval on one machine.

Real ed25519 keys made by ssh-keygen in a temporary folder (once per test process), and an
OpenSSH ``allowed_signers`` file naming each key's principal. ``eve`` has a key that is not
listed: her signatures are foreign.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident_svc.config import Settings, load_settings
from incident_svc.models import Campaign
from incident_svc.services.delivery import approvers, campaigns

LISTED = ("alice", "bob")


@dataclass(frozen=True)
class Signers:
    folder: Path
    allowed_signers: Path

    def key(self, name: str) -> Path:
        return self.folder / name

    def settings(self, base: Settings | None = None, **approval: Any) -> Settings:
        """``base`` (or the defaults) in signed mode with these keys."""
        section = {"mode": "signed", "allowed_signers": self.allowed_signers, **approval}
        if base is None:
            return load_settings(overrides={"approval": section})
        return base.model_copy(update={"approval": base.approval.model_copy(update=section)})

    def sign(self, name: str, text: str, namespace: str = "incident-svc-approval") -> bytes:
        done = subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-q", "-f", str(self.key(name)), "-n", namespace],
            input=text.encode(),
            capture_output=True,
            check=True,
        )
        return done.stdout

    def signature(
        self, name: str, text: str, namespace: str = "incident-svc-approval"
    ) -> approvers.Signature:
        return approvers.Signature(self.sign(name, text, namespace), f"{name}.sig")

    def creation(self, name: str, incident_ref: str, kind: str) -> tuple[str, approvers.Signature]:
        text = approvers.new_creation_text(incident_ref, kind)
        return text, self.signature(name, text)

    async def approval(
        self, name: str, campaign_id: int, settings: Settings | None = None
    ) -> approvers.Signature:
        """``name``'s signature of the campaign's approval text as it stands now (the digest
        depends on the settings that enter a message: give the ones approve will see)."""
        text = await approvers.text_to_sign(campaign_id, self.settings(settings))
        return self.signature(name, text)


def make(folder: Path, names: tuple[str, ...] = (*LISTED, "eve")) -> Signers:
    lines = []
    for name in names:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(folder / name)],
            check=True,
        )
        kind, key, *_ = (folder / f"{name}.pub").read_text().split()
        if name in LISTED:
            lines.append(f"{name} {kind} {key}\n")
    allowed = folder / "allowed_signers"
    allowed.write_text("".join(lines))
    return Signers(folder, allowed)


@functools.cache
def shared() -> Signers:
    """One set of keys for the whole test process."""
    folder = Path(tempfile.mkdtemp(prefix="incident-svc-signers-"))
    atexit.register(shutil.rmtree, folder, True)
    return make(folder)


async def create_signed(
    incident_ref: str = "INC-2026-0001",
    *,
    kind: str = "subject_notice",
    by: str = "alice",
    **options: Any,
) -> Campaign:
    """A draft created by ``by``, who signed its creation."""
    keys = shared()
    return await campaigns.create(
        incident_ref=incident_ref,
        kind=kind,
        at=options.pop("at", None),
        actor=options.pop("actor", by),
        key=options.pop("key", None),
        signed=keys.creation(by, incident_ref, kind),
        settings=keys.settings(),
        **options,
    )


async def approve_signed(settings: Settings, campaign_id: int, *, by: str = "bob") -> Campaign:
    """Approve as ``by`` in signed mode (``settings`` otherwise as given)."""
    keys = shared()
    return await campaigns.approve(
        campaign_id=campaign_id,
        actor=by,
        key=None,
        settings=keys.settings(settings),
        signature=await keys.approval(by, campaign_id, settings),
    )
