"""Rendering one notice (subject, text body, HTML body) from its compiled templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import css_inline
import jinja2

from incident_svc.errors import TemplateError
from incident_svc.notices import stencil
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.deadline import RenderTimeout, time_limit
from incident_svc.notices.errors import TemplateRenderError, located
from incident_svc.notices.stencil import Stencils

# A notice is a few kilobytes; a template that writes a megabyte is broken or hostile.
MAX_OUTPUT_CHARS = 1_000_000
EMAIL_PARTS = ("subject.j2", "body.txt.j2", "body.html.j2")
BANNER_PARTS = ("title.j2", "body.j2")

_INLINER = css_inline.CSSInliner(
    keep_style_tags=False, keep_at_rules=True, load_remote_stylesheets=False
)


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str
    templates: tuple[str, ...]  # the names of the three templates used


def render_template(catalog: TemplateCatalog, name: str, context: Mapping[str, Any]) -> str:
    """Render one template, capping its output; every failure names the file and line."""
    template = catalog.template(name)
    try:
        with time_limit(catalog.render_seconds):
            return _generate(template, catalog, name, context)
    except RenderTimeout:
        raise TemplateRenderError(
            f"rendering took longer than {catalog.render_seconds:g}s "
            "(templates.render_seconds): stopped",
            kind="timeout",
            file=str(catalog.origin(name)),
            line=None,
        ) from None


def _generate(
    template: jinja2.Template, catalog: TemplateCatalog, name: str, context: Mapping[str, Any]
) -> str:
    size = 0
    chunks: list[str] = []
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateRenderError(
                    f"renders more than {MAX_OUTPUT_CHARS} characters",
                    kind="too_long",
                    file=str(catalog.origin(name)),
                    line=None,
                )
            chunks.append(chunk)
    except TemplateError:
        raise
    except Exception as exc:  # whatever a template's code raises ({{ 1/0 }}) is its fault
        raise located(exc, catalog, name) from None
    return "".join(chunks)


def render_email(
    catalog: TemplateCatalog,
    kind: str,
    locale: str,
    context: Mapping[str, Any],
    *,
    stencils: EmailStencils | None = None,
    shared: Mapping[str, Any] | None = None,
) -> RenderedNotice:
    """Subject, text and HTML of one notice; with ``stencils`` (and ``shared``, the part of
    the context common to the locale) from a stencil when one fits: the same strings, faster."""
    names = tuple(catalog.resolve(f"email/{kind}", part, locale) for part in EMAIL_PARTS)

    def produce(values: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(render_template(catalog, name, values) for name in names)

    if stencils is None or shared is None:
        subject, text, html = produce(context)
        html = inline_css(html)
    else:
        subject, text, html = stencils.get(names).render(context, shared, produce)
    subject = subject.strip()
    if "\n" in subject or "\r" in subject:
        raise TemplateRenderError(
            "the subject line renders as more than one line",
            kind="multiline_subject",
            file=str(catalog.origin(names[0])),
            line=None,
        )
    return RenderedNotice(subject=subject, text=text, html=html, templates=names)


class EmailStencils:
    """The stencils of one catalog's email templates, one set per (subject, text, HTML) trio."""

    def __init__(self, catalog: TemplateCatalog) -> None:
        self._catalog = catalog
        self._sets: dict[tuple[str, ...], Stencils] = {}

    def get(self, names: tuple[str, ...]) -> Stencils:
        if names not in self._sets:
            taint = stencil.taint(self._catalog.env, names)
            self._sets[names] = Stencils(taint, (None, None, inline_css))
        return self._sets[names]

    @property
    def hits(self) -> int:
        return sum(s.hits for s in self._sets.values())


def inline_css(html: str) -> str:
    """Move the CSS of ``<style>`` blocks onto the elements: many mail clients drop ``<style>``."""
    try:
        return str(_INLINER.inline(html))
    except ValueError as exc:
        raise TemplateError(f"cannot inline the CSS of the HTML body: {exc}") from None


def render_banner(
    catalog: TemplateCatalog, locale: str, context: Mapping[str, Any]
) -> dict[str, str]:
    title, body = (
        render_template(catalog, catalog.resolve("banner", part, locale), context).strip()
        for part in BANNER_PARTS
    )
    return {"title": title, "body": body}
