"""Reading reports in the shapes real servers send (pure: no database), and hostile bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_svc.domain import bounce_parse
from incident_svc.domain.bounce_parse import Parsed, Unreadable
from incident_svc.domain.enums import DeliveryOutcome, ReportKind
from incident_svc.domain.verp import ReturnPaths, derive_key
from tests.support import bounce_reports as reports

PATHS = ReturnPaths(key=b"k" * 32, local_part="bounce", domain="bounces.example.com")
SENT = reports.Sent(PATHS.address(42), "person7@example.org", "<c3.d42.0a1b2c3d@example.com>")
DATA = Path(__file__).parent / "data" / "bounces"


@pytest.mark.parametrize(
    ("raw", "kind", "outcome", "status"),
    [
        (reports.dsn(SENT), ReportKind.DSN, DeliveryOutcome.BOUNCED, "5.1.1"),
        (reports.dsn(SENT, action="delayed", status="4.4.7"), ReportKind.DSN,
         DeliveryOutcome.DELAYED, "4.4.7"),
        (reports.exchange(SENT), ReportKind.DSN, DeliveryOutcome.BOUNCED, "5.1.10"),
        (reports.gmail(SENT), ReportKind.DSN, DeliveryOutcome.BOUNCED, "5.1.1"),
        (reports.gmail(SENT, delayed=True), ReportKind.DSN, DeliveryOutcome.DELAYED, "4.4.1"),
        (reports.arf(SENT), ReportKind.ARF, DeliveryOutcome.COMPLAINED, None),
        (reports.exim(SENT), ReportKind.DETECTED, DeliveryOutcome.BOUNCED, None),
        (reports.qmail(SENT), ReportKind.DETECTED, DeliveryOutcome.BOUNCED, None),
    ],
    ids=["postfix", "postfix-delay", "exchange", "gmail", "gmail-delay", "arf", "exim", "qmail"],
)  # fmt: skip
def test_each_shape_names_its_message(
    raw: bytes, kind: ReportKind, outcome: DeliveryOutcome, status: str | None
) -> None:
    parsed = bounce_parse.parse(raw)
    assert isinstance(parsed, Parsed)
    assert (parsed.kind, parsed.outcome, parsed.status) == (kind, outcome, status)
    assert SENT.return_path in parsed.envelope
    token = PATHS.check(parsed.envelope[0])
    assert token is not None and (token.delivery_id, token.genuine) == (42, True)
    assert parsed.final_recipient == SENT.recipient
    assert parsed.message_id == SENT.message_id


def test_the_report_postfix_wrote() -> None:
    """tests/data/bounces/postfix-unknown-user.eml: bytes a real Postfix 3.7 sent (see README
    there); tests/test_postfix_bounce.py makes a fresh one where Postfix is installed."""
    parsed = bounce_parse.parse((DATA / "postfix-unknown-user.eml").read_bytes())
    assert isinstance(parsed, Parsed)
    assert (parsed.kind, parsed.outcome, parsed.status) == (
        ReportKind.DSN, DeliveryOutcome.BOUNCED, "5.1.1",
    )  # fmt: skip
    assert parsed.envelope[0] == "bounce+d7-0123456789abcdef@bounces.example.com"
    assert parsed.final_recipient == "nosuchuser@localhost"
    assert parsed.message_id == "<c1.d7.abcd1234@example.com>"
    assert parsed.detail == 'X-Postfix; unknown user: "nosuchuser"'


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"Subject: hello\r\n\r\nJust a message.\r\n",
        reports.dsn(SENT, action="delivered", status="2.0.0"),
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x--\r\n",
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n"
        b"--x\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\n--x--\r\n",
    ],
    ids=["empty", "plain", "success", "no-status-part", "arf-without-type"],
)
def test_what_is_not_a_failure_report_is_unreadable(raw: bytes) -> None:
    assert isinstance(bounce_parse.parse(raw), Unreadable)


def test_tokens_verify_only_with_their_key() -> None:
    address = PATHS.address(42)
    assert address == address.lower() and address.startswith("bounce+d42-")
    other = ReturnPaths(key=derive_key(b"another installation"), local_part="bounce",
                        domain="bounces.example.com")  # fmt: skip
    assert other.check(address) == type(other.check(address))(42, False)
    forged = address.replace("+d42-", "+d43-")
    found = PATHS.check(forged)
    assert found is not None and (found.delivery_id, found.genuine) == (43, False)
    assert PATHS.check(address.upper()) is not None and PATHS.check(address.upper()).genuine  # type: ignore[union-attr]
    assert PATHS.check("bounce+d42-0000000000000000@elsewhere.example") is None
    assert PATHS.check("security@example.com") is None


HEADERS = st.sampled_from(
    [b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
     b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n",
     b"To: bounce+d1-0123456789abcdef@bounces.example.com\r\n",
     b"Content-Type: message/delivery-status\r\n", b"Content-Type: text/rfc822-headers\r\n",
     b"--b\r\n", b"\r\n", b"Action: failed\r\nStatus: 5.1.1\r\n", b"Message-ID: <x@y>\r\n",
     b"Final-Recipient: rfc822; \xff\xfe@\x00\r\n", b"X-Failed-Recipients: a@b\r\n"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, database=None)
@given(pieces=st.lists(st.one_of(HEADERS, st.binary(max_size=60)), max_size=30))
def test_any_bytes_give_a_report_or_one_reason(pieces: list[bytes]) -> None:
    parsed = bounce_parse.parse(b"".join(pieces))
    if isinstance(parsed, Unreadable):
        assert parsed.reason and "\n" not in parsed.reason
        return
    texts = [parsed.status, parsed.detail, parsed.final_recipient, parsed.message_id]
    for text in [*parsed.envelope, *(t for t in texts if t is not None)]:
        assert "\x00" not in text
        text.encode("utf-8")  # storable: no lone surrogates


@settings(max_examples=200, deadline=None, database=None)
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=40))
def test_damaged_real_reports_never_raise(cut: int, junk: bytes) -> None:
    for raw in (reports.dsn(SENT), reports.arf(SENT), reports.qmail(SENT), reports.exchange(SENT)):
        damaged = raw[:cut] + junk + raw[cut + len(junk) :]
        assert isinstance(bounce_parse.parse(damaged), Parsed | Unreadable)


ALL_SHAPES = [
    reports.dsn(SENT), reports.dsn(SENT, action="delayed", status="4.4.7"), reports.exchange(SENT),
    reports.gmail(SENT), reports.gmail(SENT, delayed=True), reports.arf(SENT), reports.exim(SENT),
    reports.qmail(SENT), (DATA / "postfix-unknown-user.eml").read_bytes(),
]  # fmt: skip


@pytest.mark.parametrize("raw", ALL_SHAPES)
def test_the_direct_reader_agrees_with_the_email_package(raw: bytes) -> None:
    assert bounce_parse.parse(raw) == bounce_parse.parse_with_email_package(raw)


@settings(max_examples=300, deadline=None, database=None)
@given(
    which=st.sampled_from(ALL_SHAPES),
    at=st.integers(min_value=0, max_value=3000),
    junk=st.sampled_from([b"\r\n", b"\n\n", b" ", b":", b"--", b";", b"\t", b"x"]),
)
def test_the_readers_agree_on_damaged_reports(which: bytes, at: int, junk: bytes) -> None:
    """On damaged reports both readers find the same outcome, except where the direct reader
    still reads a standard report the email package no longer recognises (``Content-Type :``,
    RFC 5322 obsolete syntax) and hands to the bounce detectors' guess."""
    damaged = which[:at] + junk + which[at:]
    fast, full = bounce_parse.parse(damaged), bounce_parse.parse_with_email_package(damaged)
    if isinstance(fast, Parsed) and isinstance(full, Parsed):
        guessed = full.kind is ReportKind.DETECTED and fast.kind is not ReportKind.DETECTED
        assert fast.outcome == full.outcome or guessed


def test_the_compose_worker_gets_the_return_paths() -> None:
    """Past its first messages a campaign is composed in a worker process, from a pickled spec:
    the return paths must travel with it, or those messages would go out without VERP."""
    import pickle

    from incident_svc.config import load_settings
    from incident_svc.domain.enums import NoticeKind
    from incident_svc.domain.times import utcnow
    from incident_svc.notices.composer import build_composer
    from incident_svc.notices.context import IncidentFacts

    facts = IncidentFacts(1, "INC-1", "t", "high", None, None, utcnow(), {})
    composer = build_composer(
        incident=facts, kind=NoticeKind.SUBJECT_NOTICE, settings=load_settings(), return_paths=PATHS
    )
    rebuilt = pickle.loads(pickle.dumps(composer.spec())).build()
    assert rebuilt.return_paths == PATHS
