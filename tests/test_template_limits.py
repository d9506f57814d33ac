"""Operator templates (issue 15): files only from the template folders, bounded values and time.

Every refusal is a template error (exit 7) naming the file; nothing outside the template
folders is ever read into a notice.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc.domain.enums import NoticeKind
from incident_svc.errors import TemplateError
from incident_svc.notices.catalog import TemplateCatalog
from incident_svc.notices.composer import load_composer
from incident_svc.notices.errors import ComposeItemError, TemplateRenderError
from incident_svc.notices.rendering import MAX_OUTPUT_CHARS, render_template
from incident_svc.notices.sandbox import MAX_VALUE_CHARS
from tests.test_notice_composer import item
from tests.test_templates import context_for, operator_dir

SECRET = "FEED_SECRET=do-not-leak"


def _render(catalog: TemplateCatalog, name: str = "probe/en/x.j2") -> str:
    return render_template(catalog, name, context_for(catalog, "en"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    return secret


@pytest.mark.parametrize(
    "target", ["secret", "/proc/self/environ", "folder"], ids=["file", "proc", "folder"]
)
def test_an_include_through_a_symlink_out_of_the_folders_is_refused(
    tmp_path: Path, outside: Path, target: str
) -> None:
    root = operator_dir(tmp_path, {"probe/en/x.j2": "{% include 'probe/en/leak' %}"})
    link = root / "probe" / "en" / "leak"
    if target == "folder":  # a linked folder: the file inside it is outside too
        (root / "probe" / "en" / "dir").symlink_to(outside.parent)
        root = operator_dir(tmp_path, {"probe/en/x.j2": "{% include 'probe/en/dir/secret.txt' %}"})
    else:
        link.symlink_to(outside if target == "secret" else Path(target))
    catalog = TemplateCatalog(root)
    with pytest.raises(TemplateRenderError) as caught:
        _render(catalog)
    assert caught.value.kind == "outside_roots" and caught.value.exit_code == 7
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)
    assert "outside the template folders" in str(caught.value)


def test_a_linked_top_level_template_labels_and_hashes_are_refused_too(
    tmp_path: Path, outside: Path
) -> None:
    root = operator_dir(tmp_path, {})
    (root / "probe" / "en").mkdir(parents=True)
    (root / "probe" / "en" / "x.j2").symlink_to(outside)
    (root / "labels").mkdir()
    (root / "labels" / "en.toml").symlink_to(outside)
    catalog = TemplateCatalog(root)
    with pytest.raises(TemplateError, match="outside the template folders"):
        catalog.template("probe/en/x.j2")
    with pytest.raises(TemplateError, match="outside the template folders"):
        catalog.labels("en")
    with pytest.raises(TemplateError, match="outside the template folders"):
        catalog.content_hash("probe/")


def test_a_link_inside_the_folders_is_followed(tmp_path: Path) -> None:
    root = operator_dir(tmp_path, {"probe/en/real.j2": "hello", "probe/en/x.j2": "{% include 'probe/en/alias.j2' %}"})  # fmt: skip
    (root / "probe" / "en" / "alias.j2").symlink_to(root / "probe" / "en" / "real.j2")
    assert _render(TemplateCatalog(root)) == "hello"


@pytest.mark.parametrize(
    "name", ["../elsewhere/secret.txt", "probe/../../elsewhere/secret.txt", "/etc/passwd"]
)
def test_parent_and_absolute_names_are_never_read(tmp_path: Path, outside: Path, name: str) -> None:
    root = operator_dir(tmp_path, {"probe/en/x.j2": "{% include '" + name + "' %}"})
    os.rename(outside.parent, tmp_path / "operator" / ".." / "elsewhere")  # next to the root
    catalog = TemplateCatalog(root)
    with pytest.raises(TemplateError) as caught:
        _render(catalog)
    assert SECRET not in str(caught.value)
    assert catalog.origin(name) is None


# -- values and time --

BIG = st.sampled_from([10**6 + 1, 10**7, 10**9, 2**31, 10**18])
HOSTILE = st.one_of(
    BIG.map(lambda n: f"{{{{ 'x' * {n} }}}}"),
    BIG.map(lambda n: f"{{{{ {n} * 'ab' }}}}"),
    BIG.map(lambda n: f"{{{{ ([1, 2] * {n})|length }}}}"),
    BIG.map(lambda n: f"{{{{ 'x'.center({n}) }}}}"),
    BIG.map(lambda n: f"{{{{ 'x'|center({n}) }}}}"),
    BIG.map(lambda n: f"{{{{ 'x'.ljust({n}) }}}}"),
    BIG.map(lambda n: f"{{{{ '{{:>{n}}}'.format(1) }}}}"),
    BIG.map(lambda n: f"{{{{ '%{n}d' % 1 }}}}"),
    BIG.map(lambda n: f"{{{{ '%{n}d'|format(1) }}}}"),
    BIG.map(lambda n: f"{{{{ range({n})|list|length }}}}"),
    BIG.map(lambda n: f"{{{{ 9 ** {n} }}}}"),
    BIG.map(lambda n: f"{{{{ 'x'|indent({n}) }}}}"),
    BIG.map(lambda n: f"{{{{ '%*d' % ({n}, 1) }}}}"),
    BIG.map(lambda n: f"{{{{ '%*d'|format({n}, 1) }}}}"),
    BIG.map(lambda n: f"{{{{ '{{:>{{w}}}}'.format(1, w={n}) }}}}"),
    BIG.map(lambda n: f"{{{{ '{{a:>{{w}}}}'.format_map({{'a': 1, 'w': {n}}}) }}}}"),
    st.sampled_from(
        [
            "{% set s = 'x' * 999999 %}{{ s.replace('x', s) }}",
            "{% set s = 'x' * 999999 %}{{ s|replace('x', 'yy') }}",
            "{% set s = 'x' * 999999 %}{{ s ~ s }}",
            "{% set s = 'x' * 999999 %}{{ s + s }}",
            "{% set s = 'x' * 999999 %}{{ [s] * 3 }}",
            "{% set s = 'x' * 999999 %}{{ ([s] * 3)|join }}",
            "{% set s = 'x' * 999999 %}{{ ', '.join([s, s]) }}",
            "{% set s = 'x' * 999999 %}{{ ([s] * 3)|string|length }}",
            "{% set s = 'x' * 1000 %}{{ ([s] * 1000)|join|length }}",
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
            "{{ '\t' * 999999 }}{{ ('\t' * 99999).expandtabs(99) }}",
        ]
    ),
)
LIMITED = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@LIMITED
@given(source=HOSTILE)
@example(source="{{ 'x' * 1000000000 }}")
@example(source="{{ range(1000000000)|list }}")
def test_huge_values_are_refused_before_they_are_built(tmp_path: Path, source: str) -> None:
    catalog = TemplateCatalog(operator_dir(tmp_path, {"probe/en/x.j2": source}))
    started = time.monotonic()
    try:
        out = _render(catalog)
    except TemplateRenderError as exc:
        assert exc.exit_code == 7 and exc.file and exc.file.endswith("x.j2")
        assert "\n" not in str(exc)
    else:
        assert len(out) <= MAX_OUTPUT_CHARS
    assert time.monotonic() - started < 3.0


def test_values_up_to_the_cap_still_render(tmp_path: Path) -> None:
    source = (
        "{{ ('x' * 1000)|length }} {{ 'ab'|center(9) }} {{ 2 ** 64 }} {{ '%5d' % 7 }} "
        "{{ 'Call 8001234567: %s' % 'x' }} {{ '%d'|format(12345678) }} {{ '%*d' % (3, 1) }} "
        "{{ '{:>{w}}'.format(1, w=3) }} {{ 'x'|wordwrap(10000000) }} {{ 12345678 * 3 }}"
    )
    catalog = TemplateCatalog(operator_dir(tmp_path, {"probe/en/x.j2": source}))
    expected = f"1000 {'ab'.center(9)} {2**64} {7:5d} Call 8001234567: x 12345678   1   1 x"
    assert _render(catalog) == f"{expected} {12345678 * 3}"
    assert MAX_VALUE_CHARS == MAX_OUTPUT_CHARS


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{% set ns = namespace(n=0) %}{% for i in range(99999) %}{% for j in range(99999) %}"
        "{% set ns.n = ns.n + 1 %}{% endfor %}{% endfor %}{{ ns.n }}",
    ],
)
def test_a_render_past_its_time_is_stopped(tmp_path: Path, source: str) -> None:
    root = operator_dir(tmp_path, {"probe/en/x.j2": source, "probe/en/ok.j2": "fine"})
    catalog = TemplateCatalog(root, render_seconds=0.3)
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        _render(catalog)
    assert time.monotonic() - started < 2.0
    assert caught.value.kind == "timeout" and caught.value.exit_code == 7
    assert "templates.render_seconds" in str(caught.value)
    # the next render in the same thread is not hit by a late interruption
    time.sleep(0.3)
    for _ in range(3):
        assert _render(catalog, "probe/en/ok.j2") == "fine"


# -- through the command line: one line on stderr, exit 7 --

from tests.notice_data import make_incident, make_subject  # noqa: E402
from tests.test_cli_shell import cli as shell  # noqa: E402
from tests.test_notice_cli import in_db  # noqa: E402


@pytest.fixture
def world(database_url: str) -> str:
    async def seed() -> None:
        await make_subject(await make_incident(), "EN1")

    in_db(database_url, seed)
    return database_url


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% include 'email/subject_notice/en/leak' %}", "outside the template folders"),
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
         "templates.render_seconds"),
        ("{{ 'x' * 10**9 }}", "refused by the sandbox"),
    ],
)  # fmt: skip
def test_notice_preview_stops_a_hostile_template_in_one_line(
    world: str,
    tmp_path: Path,
    outside: Path,
    source: str,
    expected: str,
) -> None:
    root = operator_dir(tmp_path, {"email/subject_notice/en/subject.j2": source})
    if "leak" in source:  # (any link out of the folders is refused, used or not)
        (root / "email" / "subject_notice" / "en" / "leak").symlink_to(outside)
    env = {"INCIDENT_SVC_TEMPLATES_DIR": str(root), "INCIDENT_SVC_TEMPLATES__RENDER_SECONDS": "0.5"}
    started = time.monotonic()
    done = shell(
        "notice", "preview", "INC-2026-0001", "--subject", "EN1", database_url=world, env=env
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 7, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert expected in line and SECRET not in done.stdout + line
    assert ("leak" if "leak" in source else "subject.j2") in line


async def test_the_compose_worker_process_stops_a_long_render_too(
    db_conn: str, tmp_path: Path, settings_for: Any
) -> None:
    """The limit travels in the composer's spec: the worker process enforces it as well."""
    loop = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    root = operator_dir(tmp_path, {"email/subject_notice/en/subject.j2": loop})
    settings = settings_for(db_conn, templates_dir=str(root), templates={"render_seconds": 0.5})
    incident = await make_incident()
    person = await make_subject(incident, "S1")
    composer = await load_composer(
        incident_id=incident.id, kind=NoticeKind.SUBJECT_NOTICE, settings=settings
    )
    try:
        assert composer.spec().render_seconds == 0.5
        async with asyncio.timeout(60):
            await composer.start_worker()
        assert composer._worker is not None
        facts = await composer.load_facts([item(person, 1)])
        started = time.monotonic()
        with pytest.raises(ComposeItemError, match=r"templates\.render_seconds") as caught:
            await composer._worker.compose(facts, "Tue, 01 Dec 2026 10:00:00 +0000")
        assert time.monotonic() - started < 10
        assert caught.value.delivery_id == 1 and "subject.j2" in caught.value.reason
    finally:
        await composer.close()
