"""The approval snapshot's pure rules: canonical digest, and what changed in one line."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from incident_svc.domain.approval import (
    Audience,
    TemplateFile,
    approval_digest,
    audience_line,
    audience_of,
    build_snapshot,
    differences,
    one_line,
)


def snapshot(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "campaign_id": 7,
        "kind": "subject_notice",
        "channels": ["email"],
        "incident": {"ref": "INC-2026-0001", "texts": {"en": {"what_happened": "A leak."}}},
        "settings": {"mail_from": "Sec <sec@example.com>", "org": {"name": "Example"}},
        "templates": [TemplateFile("email/x/en/subject.j2", "builtin", "a" * 64)],
        "audience": Audience(2, "b" * 64),
    }
    base.update(changes)
    return build_snapshot(**base)


def test_the_digest_is_the_sha256_of_the_canonical_text() -> None:
    one = snapshot()
    assert approval_digest(one) == approval_digest(copy.deepcopy(one))
    reordered = dict(reversed(list(one.items())))
    assert approval_digest(reordered) == approval_digest(one)
    assert approval_digest(snapshot(campaign_id=8)) != approval_digest(one)


def test_differences_name_each_change() -> None:
    before = snapshot()
    after = snapshot(
        incident={"ref": "INC-2026-0001", "texts": {"en": {"what_happened": "Click here."}}},
        templates=[
            TemplateFile("email/x/en/subject.j2", "operator", "c" * 64),
            TemplateFile("email/x/en/body.txt.j2", "builtin", "d" * 64),
        ],
        audience=Audience(3, "e" * 64),
    )
    assert differences(before, after) == [
        "incident texts.en.what_happened changed",
        "template email/x/en/body.txt.j2 added (builtin)",
        "template email/x/en/subject.j2 changed (operator)",
        "audience changed (2 recipients approved, 3 now)",
    ]
    assert differences(before, snapshot()) == []
    assert one_line(differences(before, after)).endswith("; and 1 more")


def test_audience_lines_are_unambiguous() -> None:
    assert audience_line("S-1", "a@x", "en") == b'["S-1","a@x","en"]\n'
    joined = audience_of([audience_line("S-1", "a@x", "en"), audience_line("S-2", "b@x", "en")])
    glued = audience_of([audience_line('S-1","a@x","en"]\n["S-2', "b@x", "en")])
    assert joined.count == 2 and joined != glued


texts = st.dictionaries(st.text(max_size=12), st.dictionaries(st.text(max_size=12), st.text()))


@given(before=texts, after=texts)
def test_any_change_of_hostile_texts_is_named_in_one_line(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]
) -> None:
    one = snapshot(incident={"texts": before})
    two = snapshot(incident={"texts": after})
    found = differences(one, two)
    assert (found == []) == (before == after) == (approval_digest(one) == approval_digest(two))
    line = one_line(found)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line


@given(st.text(), st.text(), st.text())
def test_an_audience_line_is_its_json_array_whatever_the_values(
    ref: str, address: str, locale: str
) -> None:
    expected = json.dumps([ref, address, locale], ensure_ascii=False, separators=(",", ":"))
    assert audience_line(ref, address, locale) == (expected + "\n").encode("utf-8")
