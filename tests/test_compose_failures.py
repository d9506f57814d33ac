"""One notice that cannot be composed fails alone; the campaign's other notices still go out.

Real composer, real database, real aiosmtpd. Three people of eight cannot get a notice: one
address MIME refuses, one person whose one-word name breaks the operator's subject line (it
wants a family name), one person taken off the affected list after the campaign started. The other five are sent and the
campaign completes, through ``campaign send --now`` (drain) and through the service's
dispatcher. A template that does not compile is the whole campaign's problem: it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import Settings
from incident_svc.domain.enums import (
    AttemptOutcome,
    CampaignStatus,
    DeliveryStatus,
    EmailStatus,
    NoticeKind,
)
from incident_svc.domain.times import utcnow
from incident_svc.models import AuditEvent, Campaign, Delivery, DeliveryAttempt, Exposure, Subject
from incident_svc.notices.errors import TemplateRenderError
from incident_svc.resources import builtin_templates_dir
from incident_svc.services.delivery import campaign_start, campaigns
from incident_svc.services.delivery.composing import load_default_composer
from tests.support import sending
from tests.support.approval import OFF, OPEN
from tests.support.people import address, make_incident
from tests.support.smtpd import SmtpServer, smtp_server

PEOPLE = 8
BAD_ADDRESS, BAD_NAME, REMOVED = 1, 2, 4  # English readers (n % 3 != 0), see make_incident
GOOD = [n for n in range(PEOPLE) if n not in (BAD_ADDRESS, BAD_NAME, REMOVED)]


def operator_templates(tmp_path: Path, subject: str) -> Path:
    """The built-in templates with the English subject line of subject notices replaced."""
    root = tmp_path / "tpl"
    shutil.copytree(builtin_templates_dir(), root)
    (root / "email/subject_notice/en/subject.j2").write_text(subject, encoding="utf-8")
    return root


PERSONAL_SUBJECT = "Security notice for {{ recipient.name.split()[1] }} ({{ incident.ref }})\n"


def smtp_options(server: SmtpServer) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "timeout": 5.0, "pool_size": 2}


def delivery_options() -> dict[str, Any]:
    return {"batch_size": 5, "max_attempts": 3, "retry_base_seconds": 0.05}


def sending_settings(
    settings_for: Any, url: str, server: SmtpServer, templates: Path, **extra: Any
) -> Settings:
    """Settings that send to ``server`` with the operator's ``templates``, no approval."""
    return settings_for(  # type: ignore[no-any-return]
        url,
        smtp=smtp_options(server),
        delivery=delivery_options(),
        approval={"required": False},
        templates_dir=str(templates),
        **extra,
    )


async def campaign_with_bad_rows(settings: Settings) -> Campaign:
    """A started campaign of PEOPLE deliveries, three of which cannot be composed."""
    incident = await make_incident(PEOPLE)
    await Subject.filter(external_ref=f"S-{BAD_ADDRESS}").update(email="two words@example.org")
    await Subject.filter(external_ref=f"S-{BAD_NAME}").update(name="Madonna")
    composer = await load_default_composer(incident.id, NoticeKind.SUBJECT_NOTICE, settings)
    campaign = await campaigns.create(
        incident_ref=incident.ref, kind="subject_notice", at=None, actor="alice", key=None,
        template_hash=composer.template_hash, approval=OPEN)  # fmt: skip
    await campaign_start.start(
        campaign_id=campaign.id,
        now=utcnow(),
        actor="alice",
        key=None,
        settings=settings.model_copy(update={"approval": OFF.approval}),
    )
    removed = await Subject.get(external_ref=f"S-{REMOVED}")
    await Exposure.filter(incident_id=incident.id, subject_id=removed.id).delete()
    return campaign


async def assert_good_sent_and_bad_failed(campaign_id: int, server: SmtpServer) -> None:
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.status is CampaignStatus.COMPLETED
    assert sorted(m.recipient for m in server.received) == sorted(address(n) for n in GOOD)
    by_ref = {d.recipient_ref: d for d in await Delivery.filter(campaign_id=campaign_id)}
    for n in GOOD:
        assert by_ref[f"S-{n}"].status is DeliveryStatus.SENT
    reasons = {
        BAD_ADDRESS: "not an address",
        BAD_NAME: "undefined variable",
        REMOVED: "is not affected by incident",
    }
    for n, reason in reasons.items():
        d = by_ref[f"S-{n}"]
        assert d.status is DeliveryStatus.FAILED, (n, d.status)
        assert d.attempts == 1
        assert d.smtp_reply is not None and d.smtp_reply.startswith("not composed: ")
        assert reason in d.smtp_reply and d.last_error == d.smtp_reply
        assert d.sent_at is None and d.content_hash is None
        [attempt] = await DeliveryAttempt.filter(delivery_id=d.id)
        assert attempt.outcome == AttemptOutcome.PERMANENT.value
        assert attempt.code is None and attempt.reply == d.smtp_reply
    # nobody's address is marked bounced: nothing was refused by a mail server
    bounced = await Subject.filter(email_status=EmailStatus.BOUNCED).count()
    assert bounced == 0
    events = await AuditEvent.filter(action="delivery.batch", target_id=campaign_id)
    details = [json.loads(e.details) for e in events]
    assert sum(d["failed"] for d in details) == 3
    assert sum(d["sent"] for d in details) == len(GOOD)


async def test_drain_sends_the_others_and_fails_the_one_that_cannot_be_composed(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    async with smtp_server() as server:
        settings = sending_settings(
            settings_for, db_conn, server, operator_templates(tmp_path, PERSONAL_SUBJECT)
        )
        campaign = await campaign_with_bad_rows(settings)
        counts = await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a")
        assert counts["sent"] == len(GOOD) and counts["failed"] == 3
        await assert_good_sent_and_bad_failed(campaign.id, server)


async def test_service_dispatcher_sends_the_others_and_completes(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    async with smtp_server() as server:
        settings = sending_settings(
            settings_for,
            db_conn,
            server,
            operator_templates(tmp_path, PERSONAL_SUBJECT),
            scheduler={"poll_seconds": 0.1},
        )
        campaign = await campaign_with_bad_rows(settings)
        stop = asyncio.Event()
        worker = asyncio.create_task(
            sending.run_dispatcher(settings=settings, stop=stop, worker_id="svc-1")
        )
        for _ in range(600):  # generous: the machine running the suite may be busy
            if (await Campaign.get(id=campaign.id)).status is CampaignStatus.COMPLETED:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(worker, 30)
        await assert_good_sent_and_bad_failed(campaign.id, server)


def cli_env(
    database_url: str, server: SmtpServer, tmp_path: Path, templates: Path
) -> dict[str, str]:
    return {
        **os.environ,
        "INCIDENT_SVC_DATABASE_URL": database_url,
        "INCIDENT_SVC_VAR_DIR": str(tmp_path / "var"),
        "INCIDENT_SVC_TEMPLATES_DIR": str(templates),
        "INCIDENT_SVC_SMTP__HOST": server.host,
        "INCIDENT_SVC_SMTP__PORT": str(server.port),
        "INCIDENT_SVC_APPROVAL__REQUIRED": "false",
        "INCIDENT_SVC_DELIVERY__BATCH_SIZE": "5",
    }


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "incident_svc", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await child.communicate()
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_cli_send_now_completes_and_status_and_ledger_show_why(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    templates = operator_templates(tmp_path, PERSONAL_SUBJECT)
    async with smtp_server() as server:
        settings = settings_for(db_conn, templates_dir=str(templates))
        campaign = await campaign_with_bad_rows(settings)
        env = cli_env(db_conn, server, tmp_path, templates)
        code, out, err = await run_cli(env, "campaign", "send", str(campaign.id), "--now", "--json")
        assert code == 0, err
        await assert_good_sent_and_bad_failed(campaign.id, server)
    code, out, err = await run_cli(env, "campaign", "status", str(campaign.id), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["status"] == "completed" and status["counts"]["failed"] == 3
    replies = sorted(f["reply"] for f in status["latest_failures"])
    assert len(replies) == 3 and all(r.startswith("not composed: ") for r in replies)
    proof = tmp_path / "proof.jsonl"
    code, out, err = await run_cli(
        env, "campaign", "ledger", str(campaign.id), "--export", str(proof)
    )
    assert code == 0, err
    lines = [json.loads(line) for line in proof.read_text(encoding="utf-8").splitlines()]
    failed = {line["recipient_ref"]: line for line in lines if line["status"] == "failed"}
    assert sorted(failed) == sorted(f"S-{n}" for n in (BAD_ADDRESS, BAD_NAME, REMOVED))
    assert "is not affected by incident" in failed[f"S-{REMOVED}"]["smtp_reply"]


async def test_a_template_that_does_not_compile_stops_the_campaign(
    db_conn: str, settings_for: Any, tmp_path: Path
) -> None:
    async with smtp_server() as server:
        settings = sending_settings(
            settings_for, db_conn, server, operator_templates(tmp_path, "Notice {{ incident.ref \n")
        )
        incident = await make_incident(4)
        composer = await load_default_composer(incident.id, NoticeKind.SUBJECT_NOTICE, settings)
        campaign = await campaigns.create(
            incident_ref=incident.ref, kind="subject_notice", at=None, actor="a", key=None,
            template_hash=composer.template_hash, approval=OPEN)  # fmt: skip
        with pytest.raises(TemplateRenderError, match="syntax"):
            await sending.send_now(campaign_id=campaign.id, settings=settings, actor="a")
    assert (await Campaign.get(id=campaign.id)).status is CampaignStatus.SENDING
    # nobody was failed for the template's fault: every delivery waits for a fixed template
    assert await Delivery.filter(campaign_id=campaign.id, status=DeliveryStatus.FAILED).count() == 0
    assert await DeliveryAttempt.all().count() == 0
