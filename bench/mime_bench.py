"""MIME assembly per notice: the fast path against EmailMessage build + serialise, same run.

    python -m bench mime_bench                  # default size, a few seconds
    python -m bench.mime_bench --messages 200000 --repeats 9   # the full run

Bodies are real renders of the built-in templates (English and Traditional Chinese, names
with and without non-ASCII), so encoding costs are the real ones. Prints the median cost per
message of each path over ``--repeats`` rounds, their ratio, and whether the fast path keeps
the 100 microsecond budget. Numbers depend on load: quote medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

from incident_svc.config import OrgSettings
from incident_svc.mail import mime
from incident_svc.notices import context as ctx
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.rendering import RenderedNotice, render_email

BUDGET_MICROSECONDS = 100.0
SENDER = mime.Mailbox("Example Ltd Security", "security@example.com")
REPLY_TO = mime.Mailbox("", "privacy@example.com")
NAMES = ("Chan Tai Man", "陳大文", "Zoë Ångström", "O'Brien, Pat", "Li Wei", "Ahmed Al-Sayed")
TEXTS = {
    "what_happened": "An unauthorised party copied a backup of our billing database.",
    "consequences": "Someone could try to use your card or send you phishing email.",
    "measures": "We revoked the leaked credentials and rotated every key on that server.",
    "protective_steps": "Watch your card statements and be wary of emails asking for payment.",
    "contact": "Our privacy team answers questions about this incident every day.",
}


def sample_notices() -> list[tuple[mime.Mailbox, RenderedNotice]]:
    """One rendered notice per (name, locale): what the composer hands to assembly."""
    catalog = TemplateCatalog(None)
    incident = ctx.IncidentFacts(
        1, "INC-2026-0001", "Backup copied", "high", None, None,
        datetime(2026, 11, 22, 9, 15, tzinfo=UTC), {"en": TEXTS, "zh-Hant": TEXTS},
    )  # fmt: skip
    notices = []
    for n, name in enumerate(NAMES):
        for locale in ("en", "zh-Hant-HK"):
            labels = catalog.labels(locale)
            person = ctx.PersonFacts(
                n, f"P{n}", name, f"p{n}@example.net", "GB", "Europe/London", ("contact",)
            )
            base = ctx.base_context(
                incident=incident, org=OrgSettings(), labels=labels, locale=locale
            )
            context = ctx.subject_context(base, person, labels)
            rendered = render_email(catalog, "subject_notice", locale, context)
            notices.append((mime.Mailbox(name, person.email), rendered))
    return notices


def per_message(run: Callable[[int], None], count: int, repeats: int) -> list[float]:
    """Microseconds per message for each of ``repeats`` rounds of ``count`` messages."""
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(count)
        rounds.append((time.perf_counter() - start) / count * 1e6)
    return rounds


def fast_runner(notices: list[tuple[mime.Mailbox, RenderedNotice]]) -> Callable[[int], None]:
    skeleton = mime.build_skeleton(sender=SENDER, reply_to=REPLY_TO)
    date = format_datetime(datetime.now(UTC))

    def run(count: int) -> None:
        for i in range(count):
            to, notice = notices[i % len(notices)]
            mime.assemble(
                skeleton, to=to, subject=notice.subject, date=date,
                message_id=f"<d{i}@notices.example.com>", text=notice.text, html=notice.html,
            )  # fmt: skip

    return run


def slow_runner(notices: list[tuple[mime.Mailbox, RenderedNotice]]) -> Callable[[int], None]:
    date = format_datetime(datetime.now(UTC))

    def run(count: int) -> None:
        for i in range(count):
            to, notice = notices[i % len(notices)]
            mime.build_slow(
                sender=SENDER, reply_to=REPLY_TO, to=to, subject=notice.subject, date=date,
                message_id=f"<d{i}@notices.example.com>", text=notice.text, html=notice.html,
            )  # fmt: skip

    return run


def render_runner() -> Callable[[int], None]:
    """For scale: rendering the three templates and inlining the CSS, per message."""
    catalog = TemplateCatalog(None)
    labels = catalog.labels("en")
    incident = ctx.IncidentFacts(
        1, "INC-2026-0001", "Backup copied", "high", None, None,
        datetime(2026, 11, 22, 9, 15, tzinfo=UTC), {"en": TEXTS},
    )  # fmt: skip
    base = ctx.base_context(incident=incident, org=OrgSettings(), labels=labels, locale="en")
    contexts = [
        ctx.subject_context(
            base,
            ctx.PersonFacts(n, f"P{n}", name, "p@example.net", "GB", "UTC", ("contact",)),
            labels,
        )
        for n, name in enumerate(NAMES)
    ]

    def run(count: int) -> None:
        for i in range(count):
            render_email(catalog, "subject_notice", "en", contexts[i % len(contexts)])

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mime_bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000, help="fast-path messages a round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the median is reported")
    args = parser.parse_args(argv or [])
    notices = sample_notices()
    slow_count = max(1, args.messages // 10)
    fast = per_message(fast_runner(notices), args.messages, args.repeats)
    slow = per_message(slow_runner(notices), slow_count, args.repeats)
    render = per_message(render_runner(), slow_count, args.repeats)
    fast_median, slow_median = statistics.median(fast), statistics.median(slow)
    size = statistics.mean(
        len(mime.assemble(mime.build_skeleton(sender=SENDER), to=to, subject=n.subject,
            date="Sat, 28 Nov 2026 04:30:00 +0000", message_id="<a@b.example>",
            text=n.text, html=n.html))
        for to, n in notices
    )  # fmt: skip
    load = os.getloadavg()[0]
    print(f"messages: {args.messages} fast, {slow_count} EmailMessage, x{args.repeats} rounds")
    print(f"average message size: {size / 1024:.1f} KiB; load average (1 min): {load:.2f}")
    print(f"fast assemble   median {fast_median:8.1f} us/message  (rounds {_fmt(fast)})")
    print(f"EmailMessage    median {slow_median:8.1f} us/message  (rounds {_fmt(slow)})")
    print(f"(render+CSS     median {statistics.median(render):8.1f} us/message, for scale)")
    print(f"ratio EmailMessage / fast: {slow_median / fast_median:.1f}x")
    verdict = "within" if fast_median <= BUDGET_MICROSECONDS else "OVER"
    print(f"budget {BUDGET_MICROSECONDS:.0f} us/message: {verdict}")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
