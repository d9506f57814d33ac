"""Who created and who approved a campaign, as proven, and the four-eyes rule between them.

The session identity is read from the database session (its PostgreSQL role) or the
process (OS account), never from anything typed. Signatures are verified by OpenSSH against
``approval.allowed_signers``; each is kept (``campaign_signature``) so that anyone can check
it again later with ``ssh-keygen -Y verify``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from incident_svc.config import Settings
from incident_svc.domain import identity as rules
from incident_svc.domain.identity import Identity
from incident_svc.errors import ConfigError, ConflictError, ValidationError
from incident_svc.identity import openssh
from incident_svc.identity.session import session_identity
from incident_svc.models import Campaign, CampaignSignature
from incident_svc.services.delivery import approval_snapshot

CREATOR, APPROVER = "creator", "approver"


@dataclass(frozen=True)
class Signature:
    """An armoured SSH signature and where it came from (a file, or the key that made it)."""

    data: bytes
    source: str


@dataclass(frozen=True)
class Proven:
    """An identity, with the statement and signature that proved its principal, if signed."""

    identity: Identity
    text: str | None = None
    signature: Signature | None = None
    signer: str | None = None  # the principal as allowed_signers spells it


def new_creation_text(incident_ref: str, kind: str) -> str:
    return rules.creation_text(incident_ref, kind, secrets.token_hex(16))


async def _signed(session: str, text: str, signature: Signature, settings: Settings) -> Proven:
    """``session`` proven further by ``signature`` over ``text`` (the principal normalised for
    comparing, and kept as allowed_signers spells it, for ``ssh-keygen -Y verify -I``)."""
    signers = settings.approval.allowed_signers
    if signers is None:
        raise ConfigError(
            "approval.allowed_signers is not set, so a signature cannot be checked",
            key="approval.allowed_signers",
        )
    signer = await openssh.verify(
        text.encode("utf-8"), signature.data, signers, source=signature.source
    )
    principal = rules.identity_name(signer, field="principal")
    return Proven(Identity(session, principal), text, signature, signer)


async def creator(
    *,
    incident_ref: str,
    kind: str,
    signed: tuple[str, Signature] | None,
    settings: Settings | None,
) -> Proven:
    """The creator's identity; with a signed creation statement, its principal too.

    Called before the creating transaction, so that no write lock is held while OpenSSH checks
    the signature; every connection of the process logs in as the same role.
    """
    session = await session_identity(connections.get("default"))
    if signed is None:
        return Proven(Identity(session))
    text, signature = signed
    fields = rules.creation_fields(text)
    if (fields.get("incident"), fields.get("kind")) != (incident_ref, kind):
        raise ValidationError(
            f"the signed statement is not about a {kind} campaign of {incident_ref}",
            file=signature.source,
        )
    if settings is None:
        raise ConfigError("a signed creation needs the settings (allowed_signers)")
    return await _signed(session, text, signature, settings)


async def approver(
    conn: BaseDBAsyncClient,
    campaign: Campaign,
    *,
    signature: Signature | None,
    settings: Settings,
    digest: str,
    four_eyes: bool,
) -> Proven:
    """The approver's proven identity, a signature checked over the campaign's id and approval
    ``digest``; ConflictError when ``four_eyes`` is on and refuses them."""
    mode = settings.approval.mode
    if mode == "signed" and signature is None:
        raise ValidationError(
            'approval.mode is "signed": give --signature FILE or --sign-with KEY',
            field="signature",
        )
    proven = Proven(Identity(await session_identity(conn)))
    if signature is not None:
        text = rules.approval_text(campaign.id, digest)
        proven = await _signed(proven.identity.session, text, signature, settings)
    if four_eyes:
        _check_four_eyes(campaign, proven.identity, mode)
    return proven


def _check_four_eyes(campaign: Campaign, approving: Identity, mode: rules.ApprovalMode) -> None:
    if campaign.creator_identity is None:
        raise ConflictError(
            f"campaign {campaign.id} has no proven creator (created before identities were "
            "recorded); cancel it and create it again"
        )
    made_by = Identity(campaign.creator_identity, campaign.creator_principal)
    problem = rules.four_eyes_problem(mode, made_by, approving)
    if problem is not None:
        raise ConflictError(
            f"campaign {campaign.id} cannot be approved: {problem}; four-eyes approval needs "
            "a different person to approve it"
        )


def assign(campaign: Campaign, role: str, proven: Proven) -> None:
    """Set the campaign's identity columns for ``role``."""
    setattr(campaign, f"{role}_identity", proven.identity.session)
    setattr(campaign, f"{role}_principal", proven.identity.principal)


async def keep(conn: BaseDBAsyncClient, campaign: Campaign, role: str, proven: Proven) -> None:
    """Store the signature that proved ``role``, if any; a creation statement only once."""
    if proven.signature is None or proven.text is None or proven.signer is None:
        return
    once = hashlib.sha256(proven.text.encode()).hexdigest() if role == CREATOR else None
    if once and await CampaignSignature.filter(creation_sha256=once).using_db(conn).exists():
        raise ConflictError(
            f"{proven.signature.source}: this signed creation statement was used before"
        )
    try:
        await CampaignSignature.create(
            using_db=conn,
            campaign=campaign,
            role=role,
            principal=proven.signer,
            text=proven.text,
            creation_sha256=once,
            signature=proven.signature.data.decode("ascii", "replace"),
        )
    except IntegrityError:
        raise ConflictError(
            f"{proven.signature.source}: this signed creation statement was used before"
        ) from None


def audit_fields(role: str, proven: Proven) -> dict[str, Any]:
    return {
        f"{role}_identity": proven.identity.session,
        f"{role}_principal": proven.identity.principal,
    }


async def text_to_sign(campaign_id: int, settings: Settings) -> str:
    """What the approver of ``campaign_id`` signs now (``campaign approval-text``): its id and
    the approval digest it would get if approved now."""
    _, digest = await approval_snapshot.current_approval_snapshot(campaign_id, settings)
    return rules.approval_text(campaign_id, digest)


async def sign(text: str, key_file: Path) -> Signature:
    """Sign ``text`` with an SSH key (``--sign-with``; a quoted ``~/`` is expanded too)."""
    path = _expanded(key_file)
    return Signature(await openssh.sign(text.encode("utf-8"), path), str(path))


def read_signature(path: Path) -> Signature:
    """A signature file (``--signature``), checked to look like one."""
    path = _expanded(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(openssh.MAX_SIGNATURE_BYTES + 1)
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror}", file=str(path)) from None
    openssh.check_armor(data, source=str(path))
    return Signature(data, str(path))


def _expanded(path: Path) -> Path:
    """``~/`` expanded also when the shell did not (a quoted option value)."""
    return path.expanduser()


async def signed_by(text: str, signature: Signature, settings: Settings) -> Proven:
    """This session's identity, proven further by ``signature`` over ``text``."""
    return await _signed(
        await session_identity(connections.get("default")), text, signature, settings
    )
