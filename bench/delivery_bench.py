"""Delivery throughput and planning memory, each against a baseline measured in the same run.

1. raw ceiling (the issue's): aiosmtplib sending pre-built bytes over ``--pool`` connections
   with its ``mail``, ``rcpt`` and ``data`` calls, measured just before and just after each
   end-to-end run (their mean is the run's ceiling); beside it the wire-path ceiling, the same
   bytes over the same connections through the pool's own transaction (which skips
   aiosmtplib's re-normalisation of bytes already in wire form, as the end to end does), so
   that the share of the end to end spent outside SMTP shows too;
2. end to end: a campaign of ``--recipients`` sent by ``campaign send --now``'s code path
   (claim, compose, send, record) over the same number of connections;
3. plain loop: smtplib, one connection; per message the same notice templates as the real
   composer (subject, text, HTML) rendered with Jinja's ``render()``, the HTML's CSS inlined,
   and an ``EmailMessage`` with the text part and the HTML alternative (see :func:`plain_loop`);
4. planning ``--plan-rows`` deliveries in a fresh process: peak RSS.

Each run also prints the CPU time the whole machine spent (every process, from /proc/stat)
during the ceiling and during the end-to-end sending: on a machine with nothing else running,
their ratio is what the end to end costs per message against the ceiling.

All sends go to bench/fast_sink.py in its own process. ``make bench`` runs a small size;
the issue's sizes: ``python -m bench.delivery_bench --recipients 100000 --plan-rows 1000000``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bench.delivery_seed import DISCOVERED_AT, TEXTS, seed, sqlite_url
from bench.fast_sink import running
from incident_svc import db
from incident_svc.config import Settings, load_settings
from incident_svc.domain.approval import ApprovalPolicy
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.times import utcnow
from incident_svc.mail import mime, smtp_transaction
from incident_svc.models import AuditEvent, Campaign, Delivery
from incident_svc.notices import context as notice_context
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.composer import ComposeItem, load_composer
from incident_svc.notices.context import IncidentFacts, PersonFacts
from incident_svc.notices.rendering import inline_css
from incident_svc.runtime import wiring
from incident_svc.services.delivery import campaign_start, campaigns

BENCH_POLICY = ApprovalPolicy(required=False, source="bench")

SENDER = "security@example.com"
BODY = ImmutableSandboxedEnvironment(autoescape=False).from_string(
    "Dear {{ name }},\n\nOn 27 November 2026 we found that a storage bucket holding your "
    "{{ categories }} was readable from the internet. We closed it the same day.\n\n"
    "What you can do: watch for messages that ask for your password; we never do.\n\n"
    "Reference {{ ref }}. Questions: privacy@example.com\n" * 3
)


@dataclass(frozen=True)
class Message:
    delivery_id: int
    message_id: str
    data: bytes
    sha256: str
    wire: bytes | None = None


def build(delivery_id: int, address: str, message_id: str) -> bytes:
    body = BODY.render(
        name=address.split("@")[0], categories="contact details", ref="INC-2026-9999"
    )
    head = (
        f"From: Example Security <{SENDER}>\r\nTo: <{address}>\r\nMessage-ID: {message_id}\r\n"
        "Subject: Security notice\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


class BenchComposer:
    """Compiled template, bytes assembled by hand: what a fast composer does per message."""

    template_hash = "bench"

    async def compose_batch(self, items: Sequence[Any]) -> list[Message]:
        out = []
        for item in items:
            data = build(item.delivery_id, item.address, item.message_id)
            out.append(
                Message(item.delivery_id, item.message_id, data, hashlib.sha256(data).hexdigest())
            )
        return out


async def bench_loader(incident_id: int, kind: NoticeKind, settings: Settings) -> BenchComposer:
    return BenchComposer()


class PrecomposedComposer:
    """``--composer free``: the real notices, every one composed before the clock starts and
    served from memory, so that the run shows what is left when composing costs nothing."""

    def __init__(self, template_hash: str, messages: dict[int, Any]) -> None:
        self.template_hash = template_hash
        self._messages = messages

    async def compose_batch(self, items: Sequence[Any]) -> list[Any]:
        return [self._messages[item.delivery_id] for item in items]


async def precomposed_loader(campaign_id: int, settings: Settings) -> Any:
    """A loader whose composer already holds every notice of the (started) campaign."""
    campaign = await Campaign.get(id=campaign_id).prefetch_related("incident")
    real = await load_composer(
        incident_id=campaign.incident.id, kind=campaign.kind, settings=settings
    )
    token, domain = campaigns.message_id_parts(campaign, settings)
    rows = await Delivery.filter(campaign_id=campaign_id).values(
        "id", "subject_id", "address", "locale"
    )
    items = [
        ComposeItem(r["id"], r["subject_id"], None, r["address"], r["locale"],
                    f"<c{campaign_id}.d{r['id']}.{token}@{domain}>")
        for r in rows
    ]  # fmt: skip
    composed = {m.delivery_id: m for m in await real.compose_batch(items)}
    composer = PrecomposedComposer(real.template_hash, composed)

    async def loader(incident_id: int, kind: NoticeKind, settings: Settings) -> Any:
        return composer

    return loader


CEILING_SAMPLE = 2000  # distinct pre-built messages, sent round-robin


def ceiling_messages(composer: str) -> list[bytes]:
    """The bytes the ceiling sends: what the end-to-end run sends, built before the clock starts.

    ``real``: the notices of the seeded campaign (multipart text + HTML, about 7 KB);
    ``bench``: the minimal composer's single-part message (about 1 KB).
    """
    if composer == "bench":
        return [
            build(n, f"p{n}@bench.example", f"<raw{n}@example.com>") for n in range(CEILING_SAMPLE)
        ]
    notice = _plain_notices()
    skeleton = mime.build_skeleton(
        sender=mime.parse_mailbox("mail_from", load_settings().mail_from)
    )
    date = format_datetime(utcnow())
    out = []
    for n in range(1, CEILING_SAMPLE + 1):
        address, subject, text, html, name = notice(n)
        out.append(
            mime.assemble(
                skeleton,
                to=mime.Mailbox(name, address),
                subject=subject,
                date=date,
                message_id=f"<raw{n}@example.com>",
                text=text,
                html=html,
            )
        )
    return out


async def raw_ceiling(
    port: int, sample: list[bytes], count: int, pool: int, path: str = "aiosmtplib"
) -> float:
    """Messages per second: aiosmtplib, pre-built bytes, ``pool`` connections.

    ``path="aiosmtplib"`` (the issue's ceiling): its ``mail``, ``rcpt`` and ``data`` calls;
    ``path="wire"``: the same connections through the pool's wire-ready transaction
    (incident_svc.mail.smtp_transaction), which the end to end uses.
    """
    messages = [sample[n % len(sample)] for n in range(count)]

    async def send(client: aiosmtplib.SMTP, recipient: str, data: bytes) -> None:
        if path == "wire":
            await smtp_transaction.mail_from(client, SENDER)
            await smtp_transaction.rcpt_and_data(client, recipient=recipient, data=data)
            return
        await client.mail(SENDER)
        await client.rcpt(recipient)
        await client.data(data)

    async def connection(share: list[bytes]) -> None:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, local_hostname="bench"
        )
        await client.connect()
        for n, data in enumerate(share):
            await send(client, f"p{n}@bench.example", data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(connection(messages[i::pool]) for i in range(pool)))
    return count / (time.perf_counter() - started)


def _plain_notices() -> Callable[[int], tuple[str, str, str, str, str]]:
    """(address, subject, text, html, name) of person ``n`` of the seeded campaign, rendered with
    the real notice templates: Jinja's ``Template.render()`` three times, then the HTML's CSS
    inlined, exactly as every notice the composer sends."""
    settings = load_settings(overrides={"approval": {"required": False}})
    catalog = TemplateCatalog(None)
    incident = IncidentFacts(
        id=1, ref="INC-2026-9999", title="Benchmark", severity="high", occurred_from=None,
        occurred_to=None, discovered_at=DISCOVERED_AT, texts=TEXTS,
    )  # fmt: skip
    folder = "email/subject_notice"
    bases = {
        locale: notice_context.base_context(
            incident=incident,
            org=settings.org,
            labels=catalog.labels(locale),
            locale=locale,
            date_locale=catalog.date_locale(folder, "body.txt.j2", locale),
        )
        for locale in ("en", "zh-Hant")
    }

    def notice(n: int) -> tuple[str, str, str, str, str]:
        locale = "zh-Hant" if n % 3 == 0 else "en"
        address = f"person{n}@bench.example"
        person = PersonFacts(n, f"B-{n}", f"Person {n}", address, "GB", "UTC", ("contact",))
        context = notice_context.subject_context(bases[locale], person, catalog.labels(locale))
        subject, text, html = (
            catalog.template(catalog.resolve(folder, part, locale)).render(context)
            for part in ("subject.j2", "body.txt.j2", "body.html.j2")
        )
        return address, subject.strip(), text, inline_css(html), person.name

    return notice


def plain_loop(port: int, count: int) -> float:
    """Messages per second of the plain way, like for like with the real composer.

    One smtplib connection, reused; per message: the subject, text and HTML notice templates
    rendered with Jinja's ``render()`` from the person's context, the HTML's CSS inlined, an
    ``EmailMessage`` with the text part and the HTML as its alternative (multipart/alternative,
    as the composer sends), and ``send_message``. The people come from memory (no database,
    no claim, no record), so the loop is, if anything, flattered.
    """
    notice = _plain_notices()
    notice(1)  # templates compiled before the clock starts, as the composer's are
    sender = load_settings().mail_from
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as client:
        for n in range(1, count + 1):
            address, subject, text, html, name = notice(n)
            message = EmailMessage()
            message["From"] = sender
            message["To"] = f"{name} <{address}>"
            message["Subject"] = subject
            message["Message-ID"] = f"<plain{n}@example.com>"
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            client.send_message(message)
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class EndToEnd:
    planned: float  # seconds to plan the campaign's deliveries
    rate: float  # messages per second, end to end
    cpu: float | None  # core-seconds the whole machine spent while sending
    commits: int  # group commits of outcomes (delivery.batch audit events)
    median_group: int  # outcomes in the median group commit
    thread_busy: float  # CPU time of the sending (event loop) thread over the wall time


async def end_to_end(
    url: str, port: int, count: int, pool: int, composer: str = "real"
) -> EndToEnd:
    """One campaign of ``count`` recipients, planned and sent as ``campaign send --now`` does."""
    await db.open_database(url)
    try:
        await db.upgrade()
        await seed(count)
        settings = load_settings(overrides={
            "database_url": url,
            "smtp": {"host": "127.0.0.1", "port": port, "pool_size": pool, "local_hostname": "bench"},
            "approval": {"required": False},
            "delivery": {"batch_size": 500},
        })  # fmt: skip
        campaign = await campaigns.create(
            incident_ref="INC-2026-9999",
            kind="subject_notice",
            at=None,
            actor="bench",
            key=None,
            approval=BENCH_POLICY,
        )
        started = time.perf_counter()
        await campaign_start.start(
            campaign_id=campaign.id,
            now=utcnow(),
            actor="bench",
            key=None,
            settings=settings,
        )
        planned = time.perf_counter() - started
        loader: Any = None  # the real notices composer
        if composer == "bench":
            loader = bench_loader
        elif composer == "free":
            loader = await precomposed_loader(campaign.id, settings)
        started = time.perf_counter()  # composing "free" notices is not part of the run
        before, thread = _cpu_ticks(), time.thread_time()
        async with wiring.smtp_pool(settings) as pool:  # connecting is part of the run
            counts = await campaign_start.send_now(
                campaign_id=campaign.id, settings=settings, pool=pool, actor="bench", loader=loader
            )
        elapsed = time.perf_counter() - started
        busy = (time.thread_time() - thread) / elapsed
        rate = count / elapsed
        cpu = _core_seconds(before, _cpu_ticks())
        assert counts["sent"] == count, counts
        batches = await AuditEvent.filter(action="delivery.batch").values_list("details", flat=True)
        groups = sorted(json.loads(str(details))["deliveries"] for details in batches)
        return EndToEnd(planned, rate, cpu, len(groups), groups[len(groups) // 2], busy)
    finally:
        await db.close_database()


def planning_memory(rows: int, directory: str) -> dict[str, Any]:
    url = sqlite_url(directory)
    subprocess.run(
        [sys.executable, "-m", "bench.delivery_seed", url, str(rows)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench.delivery_plan_rss", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery_bench", description=__doc__)
    parser.add_argument(
        "--recipients", type=int, default=int(os.environ.get("BENCH_RECIPIENTS", 5000))
    )
    parser.add_argument(
        "--plan-rows", type=int, default=int(os.environ.get("BENCH_PLAN_ROWS", 100_000))
    )
    parser.add_argument(
        "--pool", type=int, default=4, help="SMTP connections for both the ceiling and the campaign"
    )
    parser.add_argument(
        "--plain-sample", type=int, default=2000, help="messages for the smtplib loop"
    )
    parser.add_argument(
        "--composer",
        choices=["real", "bench", "free"],
        default="real",
        help="real: the notices composer (templates, MIME, HTML); bench: a minimal one; "
        "free: the real notices, all composed before the clock starts (what is left when "
        "composing costs nothing)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the median is reported"
    )
    return parser.parse_args(argv)


def _cpu_ticks() -> tuple[int, int] | None:
    """(all, idle) CPU ticks of the whole machine since boot, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:]]
    except OSError:
        return None
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait


def _busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> str:
    if before is None or after is None or after[0] == before[0]:
        return "unknown"
    idle = (after[1] - before[1]) / (after[0] - before[0])
    return f"{1 - idle:.0%} of {os.cpu_count()} cores"


def _core_seconds(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """CPU time the whole machine spent between two readings (every process, both cores)."""
    if before is None or after is None:
        return None
    busy = (after[0] - before[0]) - (after[1] - before[1])
    return busy / os.sysconf("SC_CLK_TCK")


def _cpu_share(ceiling: list[float | None], end: float | None) -> str:
    """The ceiling's CPU over the end to end's, for the same number of messages."""
    if end is None or None in ceiling:
        return "unknown"
    spent = sum(c for c in ceiling if c is not None) / len(ceiling)
    return f"{spent:.1f} against {end:.1f} core-s = {spent / end:.0%}"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv if argv is not None else [])
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (machine shared: read ratios, not absolutes)"
    )
    sample = ceiling_messages(args.composer)
    size = sum(map(len, sample)) // len(sample)
    print(f"ceiling and end to end send {args.composer} composer messages, {size} bytes on average")
    with tempfile.TemporaryDirectory() as directory, running() as port:
        runs = []
        for n in range(args.repeat):
            before = _cpu_ticks()
            first = asyncio.run(raw_ceiling(port, sample, args.recipients, args.pool))
            after = _cpu_ticks()
            busy = _busy_share(before, after)
            ceiling_cpu = [_core_seconds(before, after)]
            wire_first = asyncio.run(raw_ceiling(port, sample, args.recipients, args.pool, "wire"))
            run = asyncio.run(
                end_to_end(sqlite_url(directory), port, args.recipients, args.pool, args.composer)
            )
            planned, end, end_cpu = run.planned, run.rate, run.cpu
            # the machine's speed drifts by up to 2x within minutes: the end-to-end run is
            # compared with the mean of a ceiling just before and one just after it
            wire_second = asyncio.run(raw_ceiling(port, sample, args.recipients, args.pool, "wire"))
            before = _cpu_ticks()
            second = asyncio.run(raw_ceiling(port, sample, args.recipients, args.pool))
            ceiling_cpu.append(_core_seconds(before, _cpu_ticks()))
            ceiling = (first + second) / 2
            wire = (wire_first + wire_second) / 2
            plain = plain_loop(port, min(args.plain_sample, args.recipients))
            runs.append((ceiling, end, plain, planned, wire))
            print(
                f"run {n + 1}: ceiling {ceiling:.0f}/s (before {first:.0f}, after {second:.0f}), "
                f"end to end {end:.0f}/s ({end / ceiling:.0%}), "
                f"wire-path ceiling {wire:.0f}/s ({end / wire:.0%}), "
                f"smtplib loop {plain:.0f}/s ({end / plain:.1f}x), planning {planned:.2f} s, "
                f"{run.commits} group commits (median {run.median_group} outcomes), "
                f"sending thread busy {run.thread_busy:.0%} of the end to end, "
                f"machine busy during the ceiling {busy}; CPU of the whole machine, ceiling "
                f"against end to end: {_cpu_share(ceiling_cpu, end_cpu)}"
            )
        ceiling, end, plain, _, wire = (_median([r[i] for r in runs]) for i in range(5))
        of_ceiling = _median([r[1] / r[0] for r in runs])
        of_plain = _median([r[1] / r[2] for r in runs])
        of_wire = _median([r[1] / r[4] for r in runs])
        print(
            f"medians of {args.repeat} runs, {args.recipients} recipients, {args.pool} connections, "
            f"{args.composer} composer:"
        )
        print(f"  raw aiosmtplib ceiling   {ceiling:8.0f} msg/s")
        print(
            f"  end to end               {end:8.0f} msg/s   {of_ceiling:.0%} of the ceiling (goal >= 60%)"
        )
        print(
            f"  wire-path ceiling        {wire:8.0f} msg/s   end to end is {of_wire:.0%} of it "
            "(the same SMTP path as the end to end; no goal, shown for a like-for-like view)"
        )
        print(
            f"  smtplib + EmailMessage   {plain:8.0f} msg/s   end to end is {of_plain:.1f}x (goal >= 3x)"
        )
        memory = planning_memory(args.plan_rows, directory)
        print(
            f"planning {memory['rows']} deliveries in a fresh process: {memory['seconds']:.1f} s, "
            f"peak RSS {memory['peak_rss_mb']:.0f} MB (before planning {memory['rss_before_mb']:.0f} MB; goal < 300 MB)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
