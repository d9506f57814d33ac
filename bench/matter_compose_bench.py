"""Composing policy-change notices: the matter composer (stencils per locale) against the
same notices rendered in full (Jinja + CSS inliner per message), same run.

    python -m bench.matter_compose_bench                       # a few seconds
    python -m bench.matter_compose_bench --messages 20000 --repeats 5

Readers alternate English and Traditional Chinese (Hong Kong), with and without non-ASCII
names, in four time zones; every message is rendered and assembled (MIME, no DKIM). Prints
the median cost per message of each path and their ratio. Numbers depend on load: quote
medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from incident_svc.config import OrgSettings
from incident_svc.domain.enums import NoticeKind
from incident_svc.mail import mime
from incident_svc.notices import matter_notices as mn
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.composer import ComposeItem
from incident_svc.notices.rendering import render_email
from incident_svc.services.delivery.matter_campaigns.composer import MatterComposer
from incident_svc.services.delivery.matter_campaigns.context import context_for
from incident_svc.services.delivery.matter_campaigns.facts import Frozen

NAMES = ("Chan Tai Man", "陳大文", "Zoë Ångström", "O'Brien, Pat", "Li Wei", "Ahmed Al-Sayed")
ZONES = ("Asia/Hong_Kong", "Europe/London", "America/New_York", "UTC")
PART = {
    "ref": "POLICY-2027-01", "matter": "policy_change", "version": "2027-01", "banner": None,
    "url": "https://www.example.com/privacy/2027-01",
    "summaries": {"en": "We now keep call detail records for 12 months instead of 6.",
                  "zh-Hant": "我們現在保留通話紀錄十二個月，而非六個月。"},
}  # fmt: skip
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def _composer() -> MatterComposer:
    return MatterComposer(
        kind=NoticeKind.POLICY_CHANGE_NOTICE, frozen=Frozen(dict(PART)),
        catalog=TemplateCatalog(None), org=OrgSettings(),
        sender=mime.Mailbox("Example Ltd", "privacy@example.com"), reply_to=None, signer=None,
        return_paths=None,
    )  # fmt: skip


def _reader(n: int) -> mn.Reader:
    locale = "zh-Hant-HK" if n % 2 else "en"
    return mn.Reader(NAMES[n % len(NAMES)], f"p{n}@example.net", f"S-{n}", locale, ZONES[n % 4])


def stencilled(count: int) -> float:
    composer = _composer()
    started = time.perf_counter()
    for n in range(count):
        reader = _reader(n)
        rendered = composer.render(reader, NOW)
        item = ComposeItem(n, n, None, reader.email, reader.locale, f"<d{n}@example.com>")
        composer.assemble(item, reader.name, rendered, "Wed, 02 Dec 2026 12:00:00 +0000")
    return (time.perf_counter() - started) / count


def full(count: int) -> float:
    composer = _composer()
    catalog = composer.catalog
    started = time.perf_counter()
    for n in range(count):
        reader = _reader(n)
        context = context_for(PART, reader, org=composer.org, labels=catalog.labels(reader.locale),
                              now=NOW, banner_served=None)  # fmt: skip
        rendered = render_email(catalog, str(composer.kind), reader.locale, context)
        item = ComposeItem(n, n, None, reader.email, reader.locale, f"<d{n}@example.com>")
        composer.assemble(item, reader.name, rendered, "Wed, 02 Dec 2026 12:00:00 +0000")
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    fast, slow = [], []
    for _ in range(args.repeats):  # interleaved: load hits both alike
        fast.append(stencilled(args.messages))
        slow.append(full(args.messages))
    f, s = statistics.median(fast), statistics.median(slow)
    print(f"matter composer (stencils): median {f * 1e6:.0f} us/message "
          f"(runs {', '.join(f'{x * 1e6:.0f}' for x in fast)})")  # fmt: skip
    print(f"full render per message:    median {s * 1e6:.0f} us/message "
          f"(runs {', '.join(f'{x * 1e6:.0f}' for x in slow)})")  # fmt: skip
    print(f"ratio: {s / f:.1f}x faster with stencils; {1 / f:.0f} messages/s on one core")


if __name__ == "__main__":
    main()
