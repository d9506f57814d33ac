"""A material policy change published by alice (signed) with its two e-mail campaigns, and
their approval by bob, for the policy campaign tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.models import Campaign, PolicyVersion
from incident_svc.services.policy_change import policy
from tests.support import signers

URL = "https://www.example.com/privacy/2027-01"
SUMMARIES = {
    "en": "We now keep call detail records for 12 months instead of 6.",
    "zh-Hant": "我們現在保留通話紀錄十二個月，而非六個月。",
}


def delivery_settings(settings_for: Any, url: str, host: str, port: int, **extra: Any) -> Settings:
    """Signed approval, the test relay, quick retries."""
    base: Settings = settings_for(
        url,
        smtp={"host": host, "port": port, "timeout": 10.0, "pool_size": 4},
        delivery={"max_attempts": 3, "retry_base_seconds": 0.05, "retry_max_seconds": 0.2,
                  "batch_size": 200},
        **extra,
    )  # fmt: skip
    return signers.shared().settings(base)


async def publish(config: Settings, tmp_path: Path, version: str = "2027-01") -> PolicyVersion:
    doc = tmp_path / "policy.html"
    doc.write_text("<h1>Privacy policy</h1>")
    files = []
    for locale, text in SUMMARIES.items():
        path = tmp_path / f"summary-{locale}.txt"
        path.write_text(text, encoding="utf-8")
        files.append((locale, path))
    request = policy.PublishRequest(version, doc, files, True, URL)
    text = policy.creation_text(version)
    return await policy.publish(
        request=request, actor="alice", key=None, settings=config,
        signed=(text, signers.shared().signature("alice", text)),
    )  # fmt: skip


async def campaigns_of(version: PolicyVersion) -> dict[NoticeKind, Campaign]:
    found = await Campaign.filter(matter_id=version.matter_id).order_by("id")  # type: ignore[attr-defined]
    return {c.kind: c for c in found}


async def approve_all(config: Settings, version: PolicyVersion) -> list[Campaign]:
    return [
        await signers.approve_signed(config, c.id, by="bob")
        for c in (await campaigns_of(version)).values()
    ]
