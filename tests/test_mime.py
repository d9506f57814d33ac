"""Fast MIME assembly: parses back to the same message as EmailMessage; no header injection."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.errors import ValidationError
from incident_svc.mail import headers, mime

SENDER = mime.Mailbox("Example Ltd Security", "security@example.com")
REPLY_TO = mime.Mailbox("", "privacy@example.com")
DATE = "Sat, 28 Nov 2026 04:30:00 +0000"


def parse(data: bytes) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(data))


def both(**kwargs: Any) -> tuple[EmailMessage, EmailMessage, bytes]:
    fields: dict[str, Any] = {
        "to": mime.Mailbox("Chan Tai Man", "tai.man@example.net"),
        "subject": "Notice of Data Breach",
        "date": DATE,
        "message_id": "<d1.c2@notices.example.com>",
        "text": "Hello\nWorld\n",
        "html": "<p>Hello</p>\n",
    }
    fields.update(kwargs)
    skeleton = mime.build_skeleton(sender=SENDER, reply_to=REPLY_TO)
    fast = mime.assemble(skeleton, **fields)
    to = fields["to"]
    short = {**fields, "to": mime.Mailbox(headers.shorten_name(to.name), to.addr)}
    slow = mime.build_slow(sender=SENDER, reply_to=REPLY_TO, **short)
    return parse(fast), parse(slow), fast


def assert_same(fast: EmailMessage, slow: EmailMessage, *, name: str, subject: str) -> None:
    """Fast and slow agree, and the fast one carries exactly the values given."""
    assert str(fast["Subject"]) == subject
    assert fast["To"].addresses[0].display_name == headers.shorten_name(name)
    for header in ("From", "Reply-To", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        if "=?" not in str(slow[header]) + subject:  # EmailMessage writes "=?" text unencoded
            # and EmailMessage collapses runs of spaces in a display name; we keep them
            assert str(fast[header]).split() == str(slow[header]).split(), header
    assert fast.get_content_type() == slow.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        fast_part, slow_part = fast.get_body((subtype,)), slow.get_body((subtype,))
        assert fast_part is not None and slow_part is not None
        assert fast_part.get_content_charset() == "utf-8"
        assert fast_part.get_content() == slow_part.get_content(), subtype


def assert_wire_rules(data: bytes) -> None:
    assert b"\n" not in data.replace(b"\r\n", b"")  # only CRLF line endings
    assert data.isascii()
    for line in data.split(b"\r\n"):
        assert len(line) <= 78, line


@pytest.mark.parametrize(
    ("name", "subject", "text", "html"),
    [
        ("Chan Tai Man", "Notice of Data Breach", "Hello\n", "<p>Hi</p>\n"),
        ("陳大文", "資料外洩通知：您的個人資料", "你好\n世界\n", "<p>你好</p>\n"),
        ('O"Brien, Pat (Sales)', "Re: =?utf-8?q?x?= tricks", "a=b\r\n", "<p>=</p>"),
        ("", "x" * 200, "long line " * 40, "<p>" + "y" * 300 + "</p>"),
        ("Zoë Ångström", "Ünïcödé " * 30, "tab\there\n\n\nend", "<b>é</b>"),
    ],
)
def test_fast_path_parses_back_like_email_message(
    name: str, subject: str, text: str, html: str
) -> None:
    fast, slow, data = both(
        to=mime.Mailbox(name, "p@example.net"), subject=subject, text=text, html=html
    )
    assert_same(fast, slow, name=name, subject=subject)
    assert_wire_rules(data)


_header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=120
).map(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    # names reach the MIME layer through single_line(): no runs of spaces, no controls
    name=_header_text.map(lambda s: " ".join(s.split())),
    subject=_header_text,
    text=st.text(max_size=400),
)
def test_fast_path_matches_slow_path_for_any_text(name: str, subject: str, text: str) -> None:
    fast, slow, data = both(
        to=mime.Mailbox(name, "p@example.net"), subject=subject, text=text, html=f"<p>{text}</p>"
    )
    assert_same(fast, slow, name=name, subject=subject)
    assert data.isascii()


@pytest.mark.parametrize("bad", ["a\r\nBcc: x@evil.example", "a\nb", "a\rb", "a\u2028b", "a\x0bb"])
def test_line_breaks_in_header_values_are_refused(bad: str) -> None:
    skeleton = mime.build_skeleton(sender=SENDER)
    for field in ("subject", "to_name", "to_addr", "message_id", "date"):
        kwargs: dict[str, Any] = {
            "to": mime.Mailbox("n", "p@example.net"),
            "subject": "s",
            "date": DATE,
            "message_id": "<a@b.example>",
        }
        if field == "to_name":
            kwargs["to"] = mime.Mailbox(bad, "p@example.net")
        elif field == "to_addr":
            kwargs["to"] = mime.Mailbox("n", f"p{bad}@example.net")
        else:
            kwargs[field] = bad
        with pytest.raises(ValidationError, match="line break"):
            mime.assemble(skeleton, text="t", html="h", **kwargs)
    with pytest.raises(ValidationError, match="line break"):
        mime.parse_mailbox("mail_from", f"Security {bad} <s@example.com>")


def test_refused_addresses_and_message_ids_name_the_field() -> None:
    with pytest.raises(ValidationError, match="field 'To'"):
        headers.mailbox("To", "no-at-sign")
    with pytest.raises(ValidationError, match="field 'To'"):
        headers.mailbox("To", "a b@example.net")
    with pytest.raises(ValidationError, match="Message-ID"):
        headers.message_id("no-angle@example.com")
    assert headers.mailbox("To", "a@bücher.example") == "a@xn--bcher-kva.example"


def test_static_parts_are_shared_and_boundary_is_unique() -> None:
    one = mime.build_skeleton(sender=SENDER)
    two = mime.build_skeleton(sender=SENDER)
    assert one.common_headers != two.common_headers  # a random boundary per campaign
    boundary = re.search(rb'boundary="([^"]+)"', one.common_headers)
    assert boundary is not None
    data = mime.assemble(
        one,
        to=mime.Mailbox("n", "p@example.net"),
        subject="s",
        date=DATE,
        message_id="<a@b.example>",
        text="--" + boundary.group(1).decode() + "\n",
        html="x",
    )
    # the body mentions the boundary, but its encoding cannot reproduce it
    assert data.count(b"--" + boundary.group(1)) == 3


def test_encoded_words_never_split_a_character() -> None:
    words = headers.encode_words("資" * 40)
    assert all(len(word) <= 75 for word in words)
    assert "".join(parse(f"Subject: {' '.join(words)}\r\n\r\n".encode())["Subject"]) == "資" * 40


def test_long_display_names_are_cut_to_one_encoded_word() -> None:
    assert headers.shorten_name("陳大文") == "陳大文"
    long_name = "陳" * 40
    short = headers.shorten_name(long_name)
    assert short.endswith("\u2026") and len(short.encode()) <= 45
    assert headers.shorten_name("A" * 100) == "A" * 61 + "..."
    fast, _, data = both(to=mime.Mailbox(long_name, "p@example.net"))
    assert fast["To"].addresses[0].display_name == short
    assert_wire_rules(data)
