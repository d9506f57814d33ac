"""Labels, identity normal form and the four-eyes rule, as plain values (no I/O)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.domain.identity import (
    LABEL_WIDTH,
    Identity,
    approval_text,
    check_label,
    creation_fields,
    creation_text,
    four_eyes_problem,
    normalise,
    refused_character,
)
from incident_svc.errors import ValidationError

SPELLINGS_OF_ALICE = [
    "alice",
    "Alice",
    "ALICE",
    " alice",
    "alice ",
    "\talice\n",
    "alice\u00a0",  # no-break space
    "\u3000alice",  # ideographic space
    "ａｌｉｃｅ",  # full width
    "ＡＬＩＣＥ",
    "\u1d2c\u029fice",  # NFKC folds the modifier A; 'ʟ' (small capital L) stays
]


@pytest.mark.parametrize("spelling", SPELLINGS_OF_ALICE[:-1])
def test_every_spelling_of_a_name_is_one_identity(spelling: str) -> None:
    assert normalise(spelling) == "alice"


def test_look_alikes_that_unicode_keeps_apart_stay_apart() -> None:
    assert normalise(SPELLINGS_OF_ALICE[-1]) != "alice"
    assert normalise("аlice") != "alice"  # Cyrillic a: a different name (and a different person)


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("bob\x07", "U+0007"),
        ("\x1b[31mbob", "U+001B"),
        ("bob\u202e", "U+202E"),  # right-to-left override
        ("b\u200bob", "U+200B"),  # zero-width space
        ("bob\u2028x", "U+2028"),  # line separator
        ("   ", "empty"),
        ("", "empty"),
        ("x" * (LABEL_WIDTH + 1), f"at most {LABEL_WIDTH}"),
    ],
)
def test_bad_labels_are_refused_in_one_line(label: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_label(label, field="--actor")
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("field '--actor':")


def test_a_label_is_kept_as_written_but_trimmed() -> None:
    assert check_label("  Bob Smith (SOC) ", field="--actor") == "Bob Smith (SOC)"
    assert check_label("x" * LABEL_WIDTH, field="--actor") == "x" * LABEL_WIDTH
    assert check_label("陳大文", field="--actor") == "陳大文"


@given(st.text(max_size=300))
def test_any_label_is_stored_clean_or_refused_with_one_line(text: str) -> None:
    try:
        label = check_label(text, field="--actor")
    except ValidationError as exc:
        message = str(exc)
        assert message.startswith("field '--actor': ") and "\n" not in message
        assert refused_character(text) or not text.strip() or len(text.strip()) > LABEL_WIDTH
        return
    assert label == label.strip() and 0 < len(label) <= LABEL_WIDTH
    assert refused_character(label) is None and label in text


@given(st.text(max_size=64))
def test_normal_form_is_stable_and_ignores_case_width_and_padding(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert normalise(f"  {text}\u3000") == once
    assert normalise(unicodedata.normalize("NFKD", text)) == once
    assert normalise(text.casefold()) == once


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=20))
def test_upper_and_lower_case_of_a_name_are_one_identity(name: str) -> None:
    assert normalise(name.upper()) == normalise(name.lower()) or any(
        c in name
        for c in "İıſ"  # the few letters whose case pairs Unicode folds apart
    )


ALICE_OS = Identity("os:alice")
ALICE_SIGNED = Identity("os:ops", "alice")
BOB_SIGNED = Identity("os:ops", "bob")


@pytest.mark.parametrize(
    ("mode", "creator", "approver", "allowed"),
    [
        ("identity", ALICE_OS, Identity("os:alice"), False),
        ("identity", ALICE_OS, Identity("os:bob"), True),
        ("identity", Identity("postgres:alice"), Identity("postgres:bob", "alice"), False),
        ("identity", ALICE_SIGNED, BOB_SIGNED, False),  # one OS account: not two people
        ("signed", ALICE_SIGNED, BOB_SIGNED, True),  # one OS account, two keys: two people
        ("signed", ALICE_SIGNED, Identity("os:ops", "alice"), False),
        ("signed", ALICE_SIGNED, Identity("os:bob"), False),  # unsigned approval
        ("signed", ALICE_OS, BOB_SIGNED, False),  # unsigned creation
        ("signed", ALICE_OS.__class__("os:alice", "carol"), Identity("os:x", "alice"), False),
    ],
)
def test_four_eyes(mode: str, creator: Identity, approver: Identity, allowed: bool) -> None:
    problem = four_eyes_problem(mode, creator, approver)  # type: ignore[arg-type]
    assert (problem is None) is allowed, problem


def test_statements_bind_their_subject() -> None:
    text = approval_text(7, "ab" * 32)
    assert text == f"incident-svc approval\ncampaign: 7\ndigest: {'ab' * 32}\n"
    created = creation_text("INC-2026-0001", "subject_notice", "n0nce")
    assert creation_fields(created) == {
        "incident": "INC-2026-0001",
        "kind": "subject_notice",
        "nonce": "n0nce",
    }
    assert creation_fields(text) == {}
