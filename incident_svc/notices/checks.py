"""What every notice must say, checked on the rendered result of any template (pure logic).

The required elements follow GDPR Art. 34(2) (which points to Art. 33(3)(b)-(d)): the nature
of the breach, the contact point, the likely consequences and the measures taken; we add
what the reader can do, when it happened, which of *their* data was involved, and that this
is a service message sent regardless of marketing preferences. Readers in ``US-CA`` also
need California's title "Notice of Data Breach" and its five headings (Cal. Civ. Code
1798.82(d)(1)).

Each element is checked by looking for the incident's own words in the rendered text and
HTML, so the checks hold for an operator's templates as much as for the built-in ones.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date

from incident_svc.notices.filters import zone
from incident_svc.notices.locales import babel_locale
from incident_svc.notices.rendering import RenderedNotice

MAX_SUBJECT_COLUMNS = 78
CALIFORNIA_TITLE = "Notice of Data Breach"
CALIFORNIA_HEADINGS = (
    "What Happened",
    "What Information Was Involved",
    "What We Are Doing",
    "What You Can Do",
    "For More Information",
)
FREE_TEXT_ELEMENTS = {
    "what_happened": "what happened (the nature of the breach)",
    "consequences": "the likely consequences",
    "measures": "what we are doing (measures taken)",
    "protective_steps": "what the reader can do (protective steps)",
    "contact": "how to contact us",
}
# an update_notice (to people already told) says what is new and what to do now instead
UPDATE_TEXT_ELEMENTS = {
    "what_is_new": "what is new since the last notice",
    "what_to_do_now": "what the reader should do now",
    "contact": "how to contact us",
}
UPDATE_NOTICE = "update_notice"
_SPACE = re.compile(r"\s+")
_TEXT_URL = re.compile(r"\b(?:https?://|mailto:)[^\s<>\"'）)]+", re.IGNORECASE)
_HOST = re.compile(r"(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}\.?|localhost")
_MAILBOX = re.compile(r"[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}")


@dataclass(frozen=True)
class Finding:
    # missing_element, missing_text, missing_heading, subject_too_long, broken_link,
    # template_error
    code: str
    part: str  # subject, text, html, or the template file
    message: str


def check_notice(
    context: Mapping[str, Any], notice: RenderedNotice, *, kind: str = "subject_notice"
) -> list[Finding]:
    """Everything wrong with one rendered notice of ``kind``; empty when it says all it must.

    An update notice needs its own texts and the incident's reference (so that the reader
    can tie it to the first notice) in place of the first notice's texts; California's
    headings apply to the first notice only.
    """
    text = normalise(notice.text)
    html = normalise(html_to_text(notice.html))
    update = kind == UPDATE_NOTICE
    findings: list[Finding] = []
    for part, body in (("text", text), ("html", html)):
        findings += _missing_elements(context, part, body, update)
        if update and str(context["incident"]["ref"]).casefold() not in body.casefold():
            findings.append(Finding("missing_element", part, "the incident's reference"))
        if _is_californian(context) and not update:
            findings += _missing_headings(part, body)
    findings += _subject_findings(notice.subject)
    findings += [Finding("broken_link", "html", m) for m in link_problems(html_links(notice.html))]
    findings += [Finding("broken_link", "text", m) for m in link_problems(text_links(notice.text))]
    return findings


def _missing_elements(
    context: Mapping[str, Any], part: str, body: str, update: bool = False
) -> Iterator[Finding]:
    incident: Mapping[str, Any] = context["incident"]
    folded = body.casefold()
    elements = UPDATE_TEXT_ELEMENTS if update else FREE_TEXT_ELEMENTS
    for key, element in elements.items():
        value = incident.get(key)
        if not value:
            yield Finding("missing_element", part, f"{element}: the incident has no {key} text")
        elif normalise(str(value)).casefold() not in folded:
            yield Finding("missing_element", part, f"{element}: the incident's {key} text")
    if not any(day in body for day in _day_spellings(context)):
        yield Finding("missing_element", part, "when it happened: no incident date")
    for category in context.get("categories", []):
        if normalise(category["label"]).casefold() not in folded:
            yield Finding("missing_element", part, f"data involved: {category['label']!r}")
    contact = context["org"].get("contact_email", "")
    if contact and contact.casefold() not in folded:
        yield Finding("missing_element", part, f"contact point: {contact}")
    service = normalise(str(context.get("service_message", "")))
    if not service or service.casefold() not in folded:
        yield Finding("missing_element", part, "the service-message statement (labels)")


def _is_californian(context: Mapping[str, Any]) -> bool:
    return bool(context.get("us_ca"))


def _missing_headings(part: str, body: str) -> Iterator[Finding]:
    folded = body.casefold()
    for heading in (CALIFORNIA_TITLE, *CALIFORNIA_HEADINGS):
        if heading.casefold() not in folded:
            yield Finding("missing_heading", part, f"US-CA notices need the heading {heading!r}")


def _day_spellings(context: Mapping[str, Any]) -> set[str]:
    """The incident's dates as a reader may see them: long, medium, short or ISO."""
    incident = context["incident"]
    loc = babel_locale(str(context["locale"]))
    tz = zone(str(context["timezone"]))
    spellings: set[str] = set()
    for key in ("occurred_from", "occurred_to", "discovered_at"):
        moment = incident.get(key)
        if isinstance(moment, datetime):
            local = moment.astimezone(tz)
            spellings.add(local.date().isoformat())
            for width in ("full", "long", "medium", "short"):
                spellings.add(normalise(str(format_date(local, width, locale=loc))))
    return spellings


def _subject_findings(subject: str) -> list[Finding]:
    columns = display_width(subject)
    if columns > MAX_SUBJECT_COLUMNS:
        return [
            Finding(
                "subject_too_long",
                "subject",
                f"{columns} columns, more than {MAX_SUBJECT_COLUMNS}: mail apps will cut it",
            )
        ]
    if not subject.strip():
        return [Finding("missing_element", "subject", "the subject line is empty")]
    return []


def display_width(value: str) -> int:
    """Columns on screen: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def normalise(value: str) -> str:
    """Whitespace runs (including no-break spaces) as one space, for searching."""
    return _SPACE.sub(" ", value.replace("\u202f", " ").replace("\xa0", " ")).strip()


class _TextAndLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        for name, value in attrs:
            if name in ("href", "src"):
                self.links.append(value or "")
        if tag in ("p", "br", "li", "h1", "h2", "h3", "div", "tr"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _parse_html(html: str) -> _TextAndLinks:
    parser = _TextAndLinks()
    parser.feed(html)
    parser.close()
    return parser


def html_to_text(html: str) -> str:
    return "".join(_parse_html(html).chunks)


def html_links(html: str) -> list[str]:
    return _parse_html(html).links


def text_links(text: str) -> list[str]:
    return [match.rstrip(".,;:!?。，；：") for match in _TEXT_URL.findall(text)]


def link_problems(links: list[str]) -> list[str]:
    """Links a reader could not follow: empty, ``#``, scripts, malformed hosts or addresses."""
    problems = []
    for link in dict.fromkeys(links):
        reason = link_problem(link)
        if reason:
            problems.append(f"{link!r}: {reason}")
    return problems


def link_problem(link: str) -> str | None:
    if not link.strip() or link.strip() == "#":
        return "empty link"
    if link != link.strip() or any(c.isspace() for c in link):
        return "contains white space"
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname or not (_HOST.fullmatch(parts.hostname) or _is_ip(parts.hostname)):
            return "no valid host name"
        return None
    if scheme == "mailto":
        address = parts.path.split("?")[0]
        return None if _MAILBOX.fullmatch(address) else "not a valid email address"
    if scheme == "tel":
        return None if re.fullmatch(r"\+?[0-9().\- ]{3,}", parts.path) else "not a phone number"
    return f"scheme {scheme or '(none)'!r} is not http, https, mailto or tel"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
