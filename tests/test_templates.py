"""The template layer: sandbox, StrictUndefined, operator overrides file by file, fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from incident_svc.config import OrgSettings
from incident_svc.errors import ConfigError, TemplateError, ValidationError
from incident_svc.notices import context as ctx
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.errors import TemplateRenderError
from incident_svc.notices.locales import fallback_chain
from incident_svc.notices.rendering import MAX_OUTPUT_CHARS, render_email, render_template
from tests.notice_data import EN_TEXTS, ZH_TEXTS

INCIDENT = ctx.IncidentFacts(
    id=1,
    ref="INC-2026-0042",
    title="Test",
    severity="high",
    occurred_from=None,
    occurred_to=None,
    discovered_at=datetime(2026, 11, 22, 9, 15, tzinfo=UTC),
    texts={"en": EN_TEXTS, "zh-Hant": ZH_TEXTS},
)
PERSON = ctx.PersonFacts(
    id=1,
    external_ref="P1",
    name="Chan Tai Man",
    email="p1@example.net",
    jurisdiction="HK",
    timezone="Asia/Hong_Kong",
    categories=("contact",),
)


def context_for(catalog: TemplateCatalog, locale: str) -> dict[str, Any]:
    labels = catalog.labels(locale)
    base = ctx.base_context(incident=INCIDENT, org=OrgSettings(), labels=labels, locale=locale)
    return ctx.subject_context(base, PERSON, labels)


def operator_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "operator"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    root.mkdir(exist_ok=True)
    return root


def render_one(tmp_path: Path, source: str, name: str = "probe/en/x.j2") -> str:
    catalog = TemplateCatalog(operator_dir(tmp_path, {name: source}))
    return render_template(catalog, name, context_for(catalog, "en"))


def test_fallback_chain() -> None:
    assert fallback_chain("zh-Hant-HK") == ("zh-Hant-HK", "zh-Hant", "en")
    assert fallback_chain("zh_hk") == ("zh-HK", "zh-Hant-HK", "zh-Hant", "en")
    assert fallback_chain("en-GB") == ("en-GB", "en")


def test_both_built_in_locales_render_every_kind() -> None:
    catalog = TemplateCatalog(None)
    for locale, marker in (("en", "What Happened"), ("zh-Hant-HK", "事件經過")):
        notice = render_email(catalog, "subject_notice", locale, context_for(catalog, locale))
        assert marker in notice.text and marker in notice.html
        assert notice.subject and "\n" not in notice.subject
    notice = render_email(
        catalog, "subject_notice", "zh-Hant-HK", context_for(catalog, "zh-Hant-HK")
    )
    assert notice.templates == (
        "email/subject_notice/zh-Hant/subject.j2",
        "email/subject_notice/zh-Hant/body.txt.j2",
        "email/subject_notice/zh-Hant/body.html.j2",
    )


def test_operator_overrides_one_file_for_one_locale(tmp_path: Path) -> None:
    root = operator_dir(
        tmp_path,
        {
            "email/subject_notice/zh-Hant-HK/subject.j2": "香港專用：{{ incident.ref }}",
            "labels/zh-Hant-HK.toml": 'service_message = "香港服務訊息"\n',
        },
    )
    catalog = TemplateCatalog(root)
    notice = render_email(
        catalog, "subject_notice", "zh-Hant-HK", context_for(catalog, "zh-Hant-HK")
    )
    assert notice.subject == "香港專用：INC-2026-0042"
    assert notice.templates[1] == "email/subject_notice/zh-Hant/body.txt.j2"  # built-in
    assert "香港服務訊息" in notice.text
    assert catalog.labels("zh-Hant-HK")["categories"]["payment_card"] == "信用卡號碼"  # merged
    # a Taiwan reader does not see the Hong Kong override
    tw = render_email(catalog, "subject_notice", "zh-Hant-TW", context_for(catalog, "zh-Hant-TW"))
    assert tw.subject.startswith("資料外洩通知")


def test_undefined_variable_is_a_clear_error_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render_one(tmp_path, "line one\n{{ incident.ref }}\n{{ recipient.nickname }}\n")
    error = caught.value
    assert error.kind == "undefined"
    assert error.file is not None and error.file.endswith("probe/en/x.j2")
    assert error.line == 3
    assert "nickname" in str(error) and "x.j2:3" in str(error)


def test_a_free_text_missing_in_every_locale_is_undefined_not_blank(tmp_path: Path) -> None:
    catalog = TemplateCatalog(None)
    labels = catalog.labels("en")
    texts = {"en": {k: v for k, v in EN_TEXTS.items() if k != "measures"}}
    incident = ctx.IncidentFacts(**{**INCIDENT.__dict__, "texts": texts})
    base = ctx.base_context(incident=incident, org=OrgSettings(), labels=labels, locale="en")
    with pytest.raises(TemplateRenderError, match="measures"):
        render_email(catalog, "subject_notice", "en", ctx.subject_context(base, PERSON, labels))


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(TemplateRenderError, match=r"x\.j2:2: template syntax error") as caught:
        render_one(tmp_path, "ok\n{% if %}\n")
    assert caught.value.kind == "syntax"


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ incident.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ self._TemplateReference__context }}",
        "{{ '{0.__class__.__mro__}'.format(1) }}",
        "{{ labels.categories.update({'contact': 'pwned'}) }}",
        "{{ categories.append(1) }}",
        "{{ range(10**9) | list }}",
    ],
)
def test_sandbox_refuses_reaching_python_internals(tmp_path: Path, attack: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_one(tmp_path, attack)
    assert "<class" not in str(caught.value)
    catalog = TemplateCatalog(None)
    assert catalog.labels("en")["categories"]["contact"] != "pwned"


def test_output_size_is_capped(tmp_path: Path) -> None:
    with pytest.raises(TemplateRenderError, match="renders more than") as caught:
        render_one(tmp_path, "{% for i in range(90000) %}{{ 'x' * 20 }}{% endfor %}")
    assert caught.value.kind == "too_long"
    assert MAX_OUTPUT_CHARS == 1_000_000


def test_html_is_autoescaped_and_text_is_not(tmp_path: Path) -> None:
    root = operator_dir(
        tmp_path,
        {"p/en/a.html.j2": "<p>{{ v }}</p>", "p/en/a.txt.j2": "{{ v }}"},
    )
    catalog = TemplateCatalog(root)
    value = {"v": "<b>&</b>", "locale": "en", "timezone": "UTC"}
    assert render_template(catalog, "p/en/a.html.j2", value) == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"
    assert render_template(catalog, "p/en/a.txt.j2", value) == "<b>&</b>"


def test_multiline_subject_is_refused(tmp_path: Path) -> None:
    root = operator_dir(tmp_path, {"email/subject_notice/en/subject.j2": "one\ntwo\n"})
    catalog = TemplateCatalog(root)
    with pytest.raises(TemplateRenderError, match="more than one line"):
        render_email(catalog, "subject_notice", "en", context_for(catalog, "en"))


def test_bad_operator_folder_and_labels_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="templates_dir"):
        TemplateCatalog(tmp_path / "missing")
    catalog = TemplateCatalog(operator_dir(tmp_path, {"labels/en.toml": "service_message = \n"}))
    with pytest.raises(ValidationError, match=r"labels/en\.toml"):
        catalog.labels("en")
    with pytest.raises(TemplateError, match="no template"):
        catalog.resolve("email/nothing", "subject.j2", "en")


def test_free_texts_are_found_whatever_the_spelling_of_their_locale() -> None:
    texts = {"EN": {"measures": "en measures"}, "zh_hant": {"measures": "中文措施"}}
    assert ctx.localised_texts(texts, "zh-Hant-HK") == {"measures": "中文措施"}
    assert ctx.localised_texts(texts, "fr") == {"measures": "en measures"}


def test_paragraphs_filter_escapes_and_keeps_line_breaks() -> None:
    from incident_svc.notices.filters import paragraphs

    html = paragraphs("one <script>x</script>\r\ntwo & three\n\n\n four")
    assert (
        str(html) == "<p>one &lt;script&gt;x&lt;/script&gt;<br>\ntwo &amp; three</p>\n<p>four</p>\n"
    )
