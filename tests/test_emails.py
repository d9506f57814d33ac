"""The plain-ASCII shortcut for email syntax agrees with email-validator.

``_plain`` may only say "valid, normalised as X" where the library says the same; for
anything else it must step aside. The generators aim at the edges of its rules: dots, role
names, upper case, hyphens, Punycode, special-use domains, label and address lengths, and
characters just outside the plain set.
"""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from incident_svc.domain.emails import _library, _plain, normalise_email

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
LDH = "abzAZ09-"
NEAR = ATEXT + LDH + '.@"<>()[]\\,;: \t\x00\x7f' + "é\u00e0\u0301ß\u200b＠．ｘ"
ROLE_NAMES = ["info", "Postmaster", "SUPPORT", "www", "abuse", "noc", "Security"]
TOPS = ["com", "COM", "example", "Test", "test", "local", "onion", "arpa", "invalid", "a", "c0m"]
TOPS += ["co1", "x-y", "-ab", "ab-", "1", "xn--p1ai", "localhost", "museum"]


def _library_says(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


atom = st.text(ATEXT, min_size=0, max_size=12)
local = st.one_of(
    st.lists(atom, min_size=1, max_size=4).map(".".join),
    st.sampled_from(ROLE_NAMES),
    st.text(NEAR, max_size=10),
    st.integers(60, 250).map(lambda n: "a" * n),
)
label = st.one_of(
    st.text(LDH, min_size=0, max_size=10),
    st.sampled_from(["xn--abc", "ab--cd", "XN--p1ai", "a--b", "abxn--c", "-", "0"]),
    st.integers(60, 66).map(lambda n: "b" * n),
    st.text(NEAR, max_size=6),
)
top = st.one_of(
    st.sampled_from(TOPS),
    st.tuples(st.text(LDH, max_size=6), st.sampled_from("aZ-1")).map("".join),
    st.integers(60, 66).map(lambda n: "t" * n),
)
domain = st.one_of(
    st.tuples(st.lists(label, min_size=0, max_size=4), top).map(
        lambda parts: ".".join([*parts[0], parts[1]])
    ),
    st.integers(40, 64).map(lambda n: ".".join(["c" * 62] * 3 + ["d" * n, "com"])),
    st.text(NEAR, max_size=20),
)
address = st.one_of(
    st.tuples(local, domain).map("@".join),
    st.tuples(local, st.sampled_from(["@", "@@", "<", '"', " @", "@."]), domain).map("".join),
    st.text(NEAR, max_size=40),
)
PLAIN_CASES = [
    ("person.1@org1.example", "person.1@org1.example"),
    ("Holder.Name+tag@Mail.Example.COM", "Holder.Name+tag@mail.example.com"),
    ("Info@example.com", "info@example.com"),
    ("a@b.co", "a@b.co"),
    ("o'brien@sub-domain.example.org", "o'brien@sub-domain.example.org"),
]


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address)
@example("x@" + ".".join(["c" * 63] * 3 + ["d" * 61]))  # domain of 253
@example("x@" + ".".join(["c" * 63] * 3 + ["d" * 62]))  # 254: too long
@example("a" * 60 + "@" + ".".join(["c" * 63] * 3))  # address of 252 characters: valid
@example("a" * 65 + "@" + ".".join(["c" * 63] * 3))  # 257: too long
@example("x@a.test")
@example("x@foo.LOCAL")
@example("x@ab--cd.com")
@example("x@xn--p1ai.com")
@example("x@a.b1")
@example("x@a.-ab")
@example("x@a.ab--cd")
@example("x@a." + "t" * 64)
def test_shortcut_answers_only_where_the_library_agrees(text: str) -> None:
    expected = _library_says(text)
    shortcut = _plain(text)
    if shortcut is not None:
        assert expected == shortcut, text


@settings(max_examples=1500, deadline=None)
@given(address)
def test_normalise_email_is_the_library_in_accept_reject_form_and_message(text: str) -> None:
    try:
        expected: str | Exception = _library(text)
    except ValueError as exc:
        expected = exc
    if isinstance(expected, Exception):
        with pytest.raises(ValueError) as caught:
            normalise_email(text)
        assert str(caught.value) == str(expected)
    else:
        assert normalise_email(text) == expected


plain_local = st.lists(st.text(ATEXT, min_size=1, max_size=10), min_size=1, max_size=3).map(
    ".".join
)
plain_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9]{0,8}[a-zA-Z0-9])?", fullmatch=True)
plain_top = st.sampled_from(["com", "org", "Example", "hk", "de", "co"])


@settings(max_examples=500, deadline=None)
@given(plain_local, st.lists(plain_label, min_size=1, max_size=3), plain_top)
def test_ordinary_addresses_take_the_shortcut(user: str, labels: list[str], top: str) -> None:
    text = f"{user}@{'.'.join([*labels, top])}"
    assert _plain(text) is not None, text
    assert _plain(text) == _library_says(text)


@pytest.mark.parametrize(("text", "normalised"), PLAIN_CASES)
def test_shortcut_cases(text: str, normalised: str) -> None:
    assert _plain(text) == normalised
    assert _library_says(text) == normalised


@pytest.mark.parametrize(
    "text",
    ["bob@@x.example", "a@b", "a..b@x.example", "x@münchen.de", "a b@x.example", "x@foo.test"],
)
def test_the_library_decides_everything_else(text: str) -> None:
    assert _plain(text) is None
