"""Stencils: the same notice strings as the full rendering, for every reader, faster."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from markupsafe import escape

from incident_svc.config import OrgSettings, Settings
from incident_svc.domain.enums import NoticeKind
from incident_svc.models import Account, Subject
from incident_svc.notices import context as ctx
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.composer import ComposeItem, Composer, load_composer
from incident_svc.notices.rendering import EmailStencils, inline_css, render_email
from incident_svc.notices.stencil import Stencils, cut, fit_value, probe, taint
from tests.notice_data import EN_TEXTS, ZH_TEXTS, make_account, make_incident, make_subject
from tests.test_notice_composer import HOSTILE

INCIDENT = ctx.IncidentFacts(
    id=1,
    ref="INC-2026-0042",
    title="Test",
    severity="high",
    occurred_from=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    occurred_to=None,
    discovered_at=datetime(2026, 11, 22, 9, 15, tzinfo=UTC),
    texts={"en": EN_TEXTS, "zh-Hant": ZH_TEXTS},
)
CATALOG = TemplateCatalog(None)
BASES = {
    locale: ctx.base_context(
        incident=INCIDENT, org=OrgSettings(), labels=CATALOG.labels(locale), locale=locale
    )
    for locale in ("en", "zh-Hant", "zh-Hant-HK")
}
NAMES = [
    "Chan Tai Man",
    "O'Brien & <Sons>",
    'Jo "the boss" Smith',
    "陳大文",
    "a\u00a0b",
    "x",
    "",
    "  padded  ",
    "tab\there",
    "&amp; already escaped &lt;b&gt;",
    "<script>alert(1)</script>",
    "Ünïcödé 😀 name",
    "\u202eevil",
]


def person(name: str, **changes: Any) -> ctx.PersonFacts:
    facts = ctx.PersonFacts(
        id=1,
        external_ref="P-1",
        name=name,
        email="p1@example.net",
        jurisdiction="HK",
        timezone="Asia/Hong_Kong",
        categories=("contact",),
    )
    return dataclasses.replace(facts, **changes)


def both(locale: str, facts: ctx.PersonFacts, stencils: EmailStencils) -> tuple[Any, Any]:
    base = BASES[locale]
    context = ctx.subject_context(base, facts, CATALOG.labels(locale))
    full = render_email(CATALOG, "subject_notice", locale, context)
    fast = render_email(CATALOG, "subject_notice", locale, context, stencils=stencils, shared=base)
    return full, fast


def test_every_reader_gets_the_bytes_of_the_full_rendering() -> None:
    stencils = EmailStencils(CATALOG)
    checked = 0
    for locale in BASES:
        for name in NAMES:
            for facts in (
                person(name),
                person(name, email="o'neil+x&y@example.net", external_ref="R<1>"),
                person(name, jurisdiction="US-CA", timezone="America/Los_Angeles"),
                person(name, categories=("contact", "health", "financial")),
                person(name, categories=()),
            ):
                full, fast = both(locale, facts, stencils)
                assert fast == full, (locale, facts)
                checked += 1
    assert checked == 3 * len(NAMES) * 5
    # most of those came from stencils: a handful of shapes, each rendered in full once
    assert stencils.hits > checked // 2


@examples(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=0, max_size=30), locale=st.sampled_from(sorted(BASES)))
def test_any_name_renders_as_in_full(name: str, locale: str) -> None:
    full, fast = both(locale, person(ctx.single_line(name) if name else name), SHARED)
    assert fast == full


@examples(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=30))
def test_even_uncleaned_names_render_as_in_full(name: str) -> None:
    full, fast = both("en", person(name), SHARED)
    assert fast == full


SHARED = EmailStencils(CATALOG)


def test_the_built_in_templates_are_stencilled() -> None:
    names = tuple(
        CATALOG.resolve("email/subject_notice", part, "en")
        for part in ("subject.j2", "body.txt.j2", "body.html.j2")
    )
    found = taint(CATALOG.env, names)
    assert found is not None
    # the name is only printed; categories and the jurisdiction decide what is written
    assert ("recipient", "name") not in found.attrs
    assert "categories" in found.names
    stencils = EmailStencils(CATALOG)
    for n in range(50):
        both("en", person(f"Reader {n}"), stencils)
    assert stencils.hits == 50  # one shape; its first reader was also rendered in full to check


def catalog_with(tmp_path: Path, html: str, text: str = "Dear {{ recipient.name }}\n") -> Any:
    root = tmp_path / "operator"
    files = {
        "email/subject_notice/en/body.html.j2": html,
        "email/subject_notice/en/body.txt.j2": text,
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return TemplateCatalog(root)


@pytest.mark.parametrize(
    ("html", "holed"),
    [
        ("<p>{{ recipient.name }}</p>", True),
        ('<p title="{{ recipient.name }}">x</p><a href="mailto:{{ recipient.email }}">m</a>', True),
        ("<p>{{ recipient.name | upper }}</p>", False),
        ("<p>{% if recipient.name == 'Bob' %}hi Bob{% endif %}{{ recipient.name }}</p>", False),
        ("<p>{% set n = recipient.name %}{{ n }}</p>", False),
        ("<p>{% filter upper %}{{ recipient.name }}{% endfilter %}</p>", None),
        ("{% macro m(x) %}{{ x }}{% endmacro %}<p>{{ m(recipient.name) }}</p>", None),
        ("<p>{{ recipient }}</p>", False),
        ("<p>{{ recipient['name'] }}</p>", True),
        ("<table>{{ recipient.name }}<tr><td>x</td></tr></table>", True),
        ("<p>{% autoescape false %}{{ recipient.name }}{% endautoescape %}</p>", True),
    ],
)
def test_operator_templates_render_as_in_full(
    tmp_path: Path, html: str, holed: bool | None
) -> None:
    catalog = catalog_with(tmp_path, html)
    names = tuple(
        catalog.resolve("email/subject_notice", part, "en")
        for part in ("subject.j2", "body.txt.j2", "body.html.j2")
    )
    found = taint(catalog.env, names)
    if holed is None:
        assert found is None
    else:
        assert found is not None
        assert (
            ("recipient", "name") not in found.attrs and "recipient" not in found.names
        ) is holed
    base = ctx.base_context(
        incident=INCIDENT, org=OrgSettings(), labels=catalog.labels("en"), locale="en"
    )
    stencils = EmailStencils(catalog)
    for name in [*NAMES, "Bob", "Bob", "Alice"]:
        context = ctx.subject_context(base, person(name), catalog.labels("en"))
        full = render_email(catalog, "subject_notice", "en", context)
        fast = render_email(
            catalog, "subject_notice", "en", context, stencils=stencils, shared=base
        )
        assert fast == full, name


def test_a_stencil_that_differs_from_the_full_rendering_is_dropped() -> None:
    # a finisher that treats one value differently: the probe cannot know, the check does
    def finish(html: str) -> str:
        return html.replace("Bob", "Robert")

    stencils = Stencils(taint=None, finishers=(finish,))
    assert stencils.render({"r": {"name": "Bob"}}, {}, lambda c: (c["r"]["name"],)) == ("Robert",)

    from incident_svc.notices.stencil import Taint

    checked = Stencils(Taint(frozenset(), frozenset()), finishers=(finish,))
    first = checked.render({"r": {"name": "Bob"}}, {}, lambda c: (f"<{c['r']['name']}>",))
    again = checked.render({"r": {"name": "Bob"}}, {}, lambda c: (f"<{c['r']['name']}>",))
    assert first == again == ("<Robert>",)
    assert checked.hits == 0


def test_probe_tables_follow_what_escaping_did() -> None:
    assert cut(f"a{probe(0)}b", 1).fill(["x&y"]) == "ax&yb"

    def page(title: str, text: str) -> str:  # as Jinja's autoescape writes it, then inlined
        return inline_css(f"<p title='{escape(title)}'>{escape(text)}</p>")

    stencil = cut(page(probe(0), probe(1)), 2)
    assert stencil.fill(["a&\"'b\u00a0", "<c>&"]) == page("a&\"'b\u00a0", "<c>&")


def test_values_fit_for_holes() -> None:
    assert fit_value("Chan Tai Man") and fit_value("陳大文")
    assert not fit_value("") and not fit_value(" a") and not fit_value("a\n") and not fit_value(3)
    assert not fit_value("a\x00b") and not fit_value("a\ue000")


async def test_composed_messages_are_byte_for_byte_those_of_the_full_rendering(
    db_conn: str, settings: Settings
) -> None:
    incident = await make_incident()
    people = []
    for n, name in enumerate([*NAMES, HOSTILE, *(f"Person {i}" for i in range(20))]):
        people.append(
            await make_subject(
                incident,
                f"S{n}",
                categories=[["contact"], ["contact", "payment_card"], ["health"]][n % 3],
                name=name or "-",
                locale=["en", "zh-Hant", "zh-Hant-HK", "fr"][n % 4],
                jurisdiction=["GB", "US-CA", "HK"][n % 3],
            )
        )
    account = await make_account()
    served = {}
    for n in range(3):
        await make_subject(incident, f"A{n}", account=account, name=f"Holder person {n}")
    for kind, items in (
        (NoticeKind.SUBJECT_NOTICE, [subject_item(p, n) for n, p in enumerate(people)]),
        (NoticeKind.ACCOUNT_HOLDER_NOTICE, [account_item(account, 1), account_item(account, 2)]),
    ):
        composer = await load_composer(incident_id=incident.id, kind=kind, settings=settings)
        full = Composer.__new__(Composer)
        full.__dict__.update(composer.__dict__, stencils=None)
        for prepared in await composer.prepare(items):
            # the same composer (so the same MIME boundary), with and without stencils
            date = "Sun, 29 Nov 2026 10:00:00 +0000"
            fast = composer.assemble(prepared, composer.render(prepared), date)
            slow = full.assemble(prepared, full.render(prepared), date)
            assert fast == slow, prepared.item
        assert composer.stencils is not None
        served[kind] = composer.stencils.hits
    # twelve shapes of subject notice among 34 readers; the one account twice is one shape
    assert served[NoticeKind.SUBJECT_NOTICE] >= 15
    assert served[NoticeKind.ACCOUNT_HOLDER_NOTICE] == 2


def subject_item(subject: Subject, n: int) -> ComposeItem:
    return ComposeItem(n, subject.id, None, subject.email, subject.locale, f"<d{n}@x.example>")


def account_item(account: Account, n: int) -> ComposeItem:
    return ComposeItem(n, None, account.id, account.holder_email, "en", f"<a{n}@x.example>")


def test_a_template_that_does_not_compile_gets_no_stencils(tmp_path: Path) -> None:
    catalog = catalog_with(tmp_path, "<p>{{ recipient.name </p>")
    names = tuple(
        catalog.resolve("email/subject_notice", part, "en")
        for part in ("subject.j2", "body.txt.j2", "body.html.j2")
    )
    assert taint(catalog.env, names) is None
