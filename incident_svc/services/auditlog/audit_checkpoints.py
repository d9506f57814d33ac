"""Take an audit checkpoint and hand it to every configured witness; `serve`'s schedule for it.

Witnesses: the append-only local file (``audit.checkpoint_to_file``, on by default), an email
to ``security_team_email`` (``audit.checkpoint_by_email``), and the read-only feed route
``/v1/audit/checkpoints``, which publishes the local file. A checkpoint changes nothing in the
database and records no audit event: an event would move the head it just recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise import connections

from incident_svc.config import Settings
from incident_svc.domain.audit_chain import GENESIS_HASH, shown
from incident_svc.domain.checkpoints import Checkpoint, checkpoint_due, holding_problem, make
from incident_svc.errors import ConflictError, IncidentSvcError
from incident_svc.mail.internal_message import InternalMessage, internal_message
from incident_svc.rawsql import placeholders
from incident_svc.services.auditlog import checkpoint_store

log = logging.getLogger(__name__)

SendEmail = Callable[[InternalMessage], Awaitable[object]]
COMPLETED_ACTION = "campaign.completed"
_HEAD = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
_HASH_AT = "SELECT hash FROM audit_event WHERE seq = ?"
_COMPLETED = "SELECT seq FROM audit_event WHERE seq > ? AND action = ? LIMIT 1"


@dataclass(frozen=True)
class Taken:
    """A checkpoint and what each witness did with it (witness -> '' or the failure)."""

    checkpoint: Checkpoint
    witnesses: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> dict[str, str]:
        return {name: why for name, why in self.witnesses.items() if why}


async def head() -> tuple[int, str]:
    """The chain's last sequence number and hash ((0, 64 zeros) while empty)."""
    rows = await connections.get("default").execute_query_dict(_HEAD)
    if not rows:
        return 0, GENESIS_HASH
    seq, digest = rows[0]["seq"], rows[0]["hash"]
    if type(seq) is not int or not isinstance(digest, str) or len(digest) != 64:
        raise ConflictError(
            f"the audit chain's last row is malformed (seq {shown(seq)}): "
            "no checkpoint taken; run `incident-svc audit verify`"
        )
    return seq, digest


async def take(
    settings: Settings, *, key: bytes | None, now: datetime, send: SendEmail | None
) -> Taken:
    """Checkpoint the head now, to every configured witness (``send`` mails the email one).

    Refused (ConflictError) when the chain no longer holds the last checkpoint in the file:
    a new checkpoint must never vouch for a chain that was cut or rewritten.
    """
    seq, digest = await head()
    await _require_last_held(settings, seq)
    point = make(seq=seq, head=digest, at=now, key=key)
    done: dict[str, str] = {}
    if settings.audit.checkpoint_to_file:
        path = checkpoint_store.checkpoint_file(settings)
        try:
            checkpoint_store.append(path, point)
            done[f"file {path}"] = ""
        except OSError as exc:
            done[f"file {path}"] = exc.strerror or str(exc)
    if settings.audit.checkpoint_by_email:
        done[f"email {settings.security_team_email}"] = await _email(settings, point, send)
    if settings.audit.checkpoint_feed and settings.audit.checkpoint_to_file:
        done[f"feed {checkpoint_store.FEED_PATH}"] = ""
    return Taken(point, done)


async def _require_last_held(settings: Settings, seq: int) -> None:
    if not settings.audit.checkpoint_to_file:
        return
    last = checkpoint_store.last_in_file(checkpoint_store.checkpoint_file(settings))
    if last is None:
        return
    conn = connections.get("default")
    rows = await conn.execute_query_dict(placeholders(_HASH_AT, conn), [last.seq])
    heads = {last.seq: rows[0]["hash"]} if rows else {}
    problem = holding_problem(last, heads, seq)
    if problem:
        raise ConflictError(
            f"the audit chain no longer holds the last checkpoint (sequence {last.seq}, "
            f"{last.at}): {problem}; no checkpoint taken, run `incident-svc audit verify`"
        )


async def _email(settings: Settings, point: Checkpoint, send: SendEmail | None) -> str:
    if send is None:
        return "no SMTP relay available to this command"
    try:
        await send(checkpoint_email(settings, point))
    except IncidentSvcError as exc:
        return str(exc)
    return ""


def checkpoint_email(settings: Settings, point: Checkpoint) -> InternalMessage:
    """The checkpoint as a message to the security team; its last line is the checkpoint."""
    return internal_message(
        settings,
        kind="checkpoint",
        subject=f"[{settings.org.name}] audit checkpoint: sequence {point.seq}",
        text=(
            f"incident-svc audit checkpoint for {settings.org.name}.\n\n"
            f"Sequence: {point.seq}\nHead hash: {point.head}\nTime: {point.at}\n\n"
            "Keep this message. To check the audit log against it later, save the line below\n"
            "in a file and run: incident-svc audit verify --checkpoints FILE\n\n"
            f"{point.line()}\n"
        ),
    )


async def completed_since(seq: int) -> bool:
    """Whether a campaign completed after sequence ``seq``."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict(placeholders(_COMPLETED, conn), [seq, COMPLETED_ACTION])
    return bool(rows)


class Schedule:
    """`serve`'s checkpoints: every ``audit.checkpoint_minutes`` while the chain grows, and at
    once after a campaign completes. Asked every poll; usually it only reads the head."""

    def __init__(self, settings: Settings, *, key: bytes | None, send: SendEmail | None) -> None:
        self._settings = settings
        self._key = key
        self._send = send
        self._last: Checkpoint | None = None
        self._last_at: datetime | None = None
        self._loaded = False  # the file is read on the first call, not in the constructor
        self._alarm = ""

    async def __call__(self, now: datetime) -> Taken | None:
        """Take a checkpoint if one is due; a chain that was cut or rewritten is logged as an
        ERROR (once per finding) and gets no checkpoint."""
        try:
            return await self._maybe_take(now)
        except ConflictError as exc:
            if str(exc) != self._alarm:
                log.error("audit checkpoint: %s", exc)
                self._alarm = str(exc)
            return None

    async def _maybe_take(self, now: datetime) -> Taken | None:
        if not self._loaded:
            self._last = checkpoint_store.last_in_file(
                checkpoint_store.checkpoint_file(self._settings)
            )
            self._last_at = _parse_at(self._last.at) if self._last else None
            self._loaded = True
        seq, _ = await head()
        last_seq = self._last.seq if self._last else 0
        completed = seq > last_seq and await completed_since(last_seq)
        due = checkpoint_due(
            now=now,
            head_seq=seq,
            last=self._last,
            last_at=self._last_at,
            every=timedelta(minutes=self._settings.audit.checkpoint_minutes),
            campaign_completed=completed,
        )
        if not due:
            return None
        taken = await take(self._settings, key=self._key, now=now, send=self._send)
        self._last, self._last_at = taken.checkpoint, now
        for name, why in taken.failed.items():
            log.error("audit checkpoint at sequence %s: %s failed: %s", seq, name, why)
        why = "a campaign completed" if completed else "scheduled"
        log.info("audit checkpoint at sequence %s (%s)", seq, why)
        return taken


def _parse_at(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
