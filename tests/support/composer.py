"""A tiny composer for delivery tests (the real one lives in incident_svc.notices)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    message_id: str
    data: bytes
    sha256: str
    wire: bytes | None = None  # the pool prepares DATA itself


class PlainComposer:
    """Builds a short RFC 5322 message per item, with the Message-ID it was given."""

    template_hash = "plain-composer-v1"

    def __init__(self, kind: NoticeKind) -> None:
        self.kind = kind
        self.batches = 0

    async def compose_batch(self, items: Sequence[Any]) -> list[OutgoingMessage]:
        self.batches += 1
        return [self._one(item) for item in items]

    def _one(self, item: Any) -> OutgoingMessage:
        data = (
            "From: Example Security <security@example.com>\r\n"
            f"To: <{item.address}>\r\n"
            f"Message-ID: {item.message_id}\r\n"
            f"Subject: {self.kind.value} ({item.locale})\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            f"Notice for delivery {item.delivery_id}.\r\n"
        ).encode()
        return OutgoingMessage(
            item.delivery_id, item.message_id, data, hashlib.sha256(data).hexdigest()
        )


async def plain_loader(incident_id: int, kind: NoticeKind, settings: Settings) -> PlainComposer:
    return PlainComposer(kind)
