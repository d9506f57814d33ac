"""Run the demo story on the configured SQLite database and an in-process development mail sink.

The demo works on the database every other command uses (by default the embedded SQLite
file), so that afterwards `incident list`, `audit log` and `serve` show what it did. It
refuses a PostgreSQL database unless one is named explicitly with ``--database``: demo
people must not end up in real data by accident.
"""

from __future__ import annotations

import time
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.db import database, redact_url, upgrade
from incident_svc.demo import story
from incident_svc.demo.keys import operator_keys
from incident_svc.demo.story import Bar, Demo, DemoSummary, Report, no_bar
from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import ConfigError
from incident_svc.mail import sink
from incident_svc.runtime import wiring


def demo_database_url(settings: Settings, given: str | None) -> str:
    """The database the demo may use: the one given, else the configured one if SQLite."""
    if given:
        return given
    if not settings.database_url.startswith("sqlite://"):
        raise ConfigError(
            f"the configured database {redact_url(settings.database_url)} is not SQLite; the "
            "demo writes made-up people, so name a scratch database with --database",
            key="database_url",
        )
    return settings.database_url


async def run_demo(
    settings: Settings,
    *,
    folder: Path,
    maildir: Path,
    subjects: int,
    report: Report,
    database_url: str | None = None,
    bar: Bar = no_bar,
) -> DemoSummary:
    """The whole story; returns what a person wants to know at the end."""
    started = time.perf_counter()
    url = demo_database_url(settings, database_url)
    summary = DemoSummary(database=redact_url(url), maildir=str(maildir))
    async with sink.serve(host="127.0.0.1", port=0, maildir=maildir) as (host, port):
        report(f"development mail sink on {host}:{port}, writing {maildir}")
        keys = await operator_keys(folder / "keys")
        demo_settings = keys.signed_mode(_settings_for(settings, url, host, port))
        async with database(url, check_schema=False), wiring.smtp_pool(demo_settings) as pool:
            applied = await upgrade()
            if applied:
                report(f"database {summary.database}: applied {', '.join(applied)}")
            demo = Demo(demo_settings, folder, subjects, _key(settings), report, pool, bar, keys)
            await _story(demo, summary)
    summary.emails_in_maildir = len(sink.message_ids(maildir))
    summary.seconds = round(time.perf_counter() - started, 1)
    return summary


async def _story(demo: Demo, summary: DemoSummary) -> None:
    await story.import_inventory(demo, summary)
    incident = await story.record_incident(demo, summary)
    await story.find_affected(demo, summary, incident)
    await story.check_notices(demo, summary, incident)
    for kind in (NoticeKind.SUBJECT_NOTICE, NoticeKind.ACCOUNT_HOLDER_NOTICE):
        await story.send_campaign(demo, summary, incident, kind)
    await story.publish_banner(demo, summary, incident)
    await story.verify_audit(demo, summary)


def _settings_for(settings: Settings, url: str, host: str, port: int) -> Settings:
    """The configured settings, pointed at the demo database and the in-process sink."""
    smtp = settings.smtp.model_copy(
        update={"host": host, "port": port, "starttls": False, "tls": False, "username": None,
                "password": None, "rate_limit": 0.0}
    )  # fmt: skip
    return settings.model_copy(update={"database_url": url, "smtp": smtp})


def _key(settings: Settings) -> bytes | None:
    secret = settings.audit.hmac_key
    return secret.get_secret_value().encode("utf-8") if secret else None
