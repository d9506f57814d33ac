"""``incident report``: draft the report one recipient is owed, from the incident's facts.

The draft is built by :mod:`incident_svc.domain.reports` (pure) and rendered as JSON, or as
Markdown or HTML through the project's sandboxed Jinja environment (``templates/report/``,
HTML autoescaped; an operator's ``templates_dir`` may replace either file). A fact the
service does not hold is listed as missing in every format, never filled in. ``--locale``
changes the labels and headings (domain/reports/locales.py), never the facts.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.domain.compliance import Obligation
from incident_svc.domain.enums import NoticeKind
from incident_svc.domain.reports.build import Report, build_report, report_dict
from incident_svc.domain.reports.facts import ReportFacts
from incident_svc.domain.reports.forms import ReportRule, report_rule
from incident_svc.domain.reports.locales import DEFAULT, check_locale, localise, ui_words
from incident_svc.errors import IncidentSvcError, NotFoundError, ValidationError
from incident_svc.models import Exposure, Incident
from incident_svc.notices import review
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.rendering import render_template
from incident_svc.services.files.export_file import export_file
from incident_svc.services.obligations import report_facts
from incident_svc.services.obligations.compute import obligations_for

FORMATS = ("md", "json", "html")
_MD_START = re.compile(r"^(\s*)([#|>*+\-=`~_]|\d+[.)])")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"{fmt!r} is not one of {', '.join(FORMATS)}", field="--format")
    return fmt


def choose(obligations: list[Obligation], wanted: str, ref: str) -> Obligation:
    """The obligation ``wanted`` names: its key (``gdpr-33-sa:DE``), or a rule id that has
    exactly one obligation for this incident."""
    name = wanted.strip().lower()
    exact = [o for o in obligations if o.key.lower() == name]
    found = exact or [o for o in obligations if o.rule.id == name]
    if len(found) == 1:
        return found[0]
    if found:
        keys = ", ".join(o.key for o in found)
        raise ValidationError(
            f"{wanted!r} has one obligation per place; name one of {keys}", field="--rule"
        )
    raise NotFoundError(
        f"{ref} has no obligation {wanted!r}; `incident-svc incident obligations {ref}` lists them"
    )


async def draft(
    *, ref: str, rule_id: str, settings: Settings, now: datetime, locale: str = DEFAULT
) -> Report:
    """The report for obligation ``rule_id`` of incident ``ref`` as of ``now``, its labels
    in ``locale`` (the facts as recorded)."""
    check_locale(locale)
    computed = await obligations_for(ref=ref, settings=settings, at=now)
    rule = report_rule(choose(computed.obligations, rule_id, computed.incident.ref))
    facts = await report_facts.load(computed.incident, settings, computed.facts, locale)
    if "sample_notice" in rule.content:
        facts = await _with_sample(facts, computed.incident, rule, settings)
    return localise(build_report(facts, rule, now=now), locale)


async def _with_sample(
    facts: ReportFacts, incident: Incident, rule: ReportRule, settings: Settings
) -> ReportFacts:
    """The notice as one affected reader in the rule's jurisdiction got (or would get) it."""
    exposure = (
        await Exposure.filter(incident_id=incident.id, subject__jurisdiction=rule.jurisdiction)
        .order_by("subject_id")
        .prefetch_related("subject")
        .first()
    )
    if exposure is None:
        return facts
    try:
        preview = await review.preview_notice(
            incident_ref=incident.ref,
            kind=NoticeKind.SUBJECT_NOTICE,
            settings=settings,
            subject_ref=exposure.subject.external_ref,
        )
    except IncidentSvcError:
        return facts  # listed as missing; `notice check` says why
    return replace(facts, sample_notice=f"Subject: {preview.subject}\n\n{preview.text}")


def render(report: Report, fmt: str, settings: Settings) -> str:
    """The report as JSON, Markdown or HTML text."""
    data = report_dict(report)
    if check_format(fmt) == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    catalog = _catalog(settings.templates_dir)
    context = {
        "report": data,
        "ui": ui_words(report.locale),
        "locale": report.locale,
        "timezone": "UTC",
    }
    return render_template(catalog, f"report/report.{fmt}.j2", context)


@functools.lru_cache(maxsize=4)
def _catalog(templates_dir: Path | None) -> TemplateCatalog:
    """One catalog per templates folder: each report template is compiled once."""
    catalog = TemplateCatalog(templates_dir)
    catalog.env.filters["md_cell"] = md_cell
    catalog.env.filters["md_text"] = md_text
    return catalog


def md_cell(value: object) -> str:
    """A value inside a Markdown table cell: one line, no column separators."""
    return " ".join(str(value).split()).replace("|", "\\|")


def md_text(value: object) -> str:
    """Free text in Markdown: a line that would start a heading, list, quote, table or fence
    starts with a backslash instead, so facts never change the report's structure."""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_MD_START.sub(r"\1\\\2", line.rstrip()) for line in lines)


def write(path: Path, text: str, *, force: bool) -> None:
    """Write through the safe export path: temporary file and rename, --force to replace."""
    with export_file(path, force=force) as handle:
        handle.write(text)
