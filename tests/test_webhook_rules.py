"""Pure webhook rules: where SNS certificates may come from, provider payloads read into
events, and events written as standard reports that the report parser reads back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident_svc.domain import bounce_parse
from incident_svc.domain.enums import DeliveryOutcome
from incident_svc.domain.provider_events import (
    ProviderEvent,
    read_mailgun,
    read_postmark,
    read_sendgrid,
    read_ses,
)
from incident_svc.domain.report_synth import report_bytes
from incident_svc.domain.webhook_signatures import sns_url_allowed, topic_region
from incident_svc.errors import ValidationError

EU = "eu-west-1"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.eu-west-1.amazonaws.com:443/x.pem", True),
        ("https://sns.us-east-1.amazonaws.com/x.pem", False),  # another region than the topic's
        ("http://sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com:8443/x.pem", False),
        ("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://user@sns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://xsns.eu-west-1.amazonaws.com/x.pem", False),
        ("https://127.0.0.1/x.pem", False),
        ("https://[::1/x.pem", False),
        ("file:///etc/passwd", False),
    ],
)
def test_production_sns_origin(url: str, allowed: bool) -> None:
    assert sns_url_allowed(url, region=EU) is allowed


def test_topic_region() -> None:
    assert topic_region("arn:aws:sns:ap-east-1:123456789012:bounces") == "ap-east-1"
    with pytest.raises(ValidationError):
        topic_region("arn:aws:sqs:ap-east-1:1:q")


def ses(kind: str, body: dict[str, object]) -> str:
    return json.dumps({"notificationType": kind, **body, "mail": {"source": "b@x.example"}})


@pytest.mark.parametrize(
    ("bounce_type", "permanent", "status"),
    [("Permanent", True, "5.1.1"), ("Transient", False, "4.4.7"), ("Undetermined", False, "")],
)
def test_ses_bounce_types(bounce_type: str, permanent: bool, status: str) -> None:
    recipient = {"emailAddress": "a@example.org", "status": status}
    [event] = read_ses(
        ses("Bounce", {"bounce": {"bounceType": bounce_type, "bouncedRecipients": [recipient]}})
    )
    assert event.permanent is permanent
    assert event.status == (status or "4.0.0")


def test_sendgrid_kinds() -> None:
    found = read_sendgrid(
        [
            {"event": "bounce", "type": "blocked", "email": "a@x.example"},
            {"event": "deferred", "email": "b@x.example"},
            {"event": "dropped", "email": "c@x.example", "status": "garbage"},
            {"event": "click", "email": "d@x.example"},
        ]
    )
    assert [(e.recipient, e.permanent, e.status) for e in found] == [
        ("a@x.example", False, "4.0.0"),
        ("b@x.example", False, "4.0.0"),
        ("c@x.example", True, "5.0.0"),
    ]


def test_mailgun_and_postmark_kinds() -> None:
    [temporary] = read_mailgun(
        {"event-data": {"event": "failed", "severity": "temporary", "recipient": "a@x"}}
    )
    assert (temporary.kind, temporary.permanent, temporary.status) == ("bounce", False, "4.0.0")
    [complaint] = read_mailgun({"event-data": {"event": "complained", "recipient": "a@x"}})
    assert complaint.kind == "complaint"
    [soft] = read_postmark({"RecordType": "Bounce", "Type": "SoftBounce", "Email": "a@x"})
    assert not soft.permanent
    assert read_postmark({"RecordType": "Open"}) == []
    with pytest.raises(ValidationError, match="Email"):
        read_postmark({"RecordType": "Bounce", "Type": "HardBounce"})


def test_no_header_injection_from_provider_fields() -> None:
    event = ProviderEvent(
        provider="ses\r\nBcc: x@evil.example",
        kind="bounce",
        permanent=True,
        recipient="a@example.org\r\nX-Injected: 1",
        status="5.1.1\r\nAction: delivered",
        diagnostic="boom\r\n\r\n--inject",
        message_id="<a@b>\r\nX: y",
        return_path="bounce+d1.t@b.example\r\nX: y",
    )
    raw = report_bytes(event)
    assert b"\r\nBcc:" not in raw and b"\r\nX-Injected" not in raw and b"\r\nX: y" not in raw
    parsed = bounce_parse.parse(raw)
    assert isinstance(parsed, bounce_parse.Parsed)
    assert parsed.outcome is DeliveryOutcome.BOUNCED


texts = st.text(max_size=60)


@given(
    kind=st.sampled_from(["bounce", "complaint"]),
    permanent=st.booleans(),
    recipient=texts | st.emails(),
    diagnostic=texts,
    message_id=texts,
    return_path=texts | st.emails(),
    payload=st.binary(max_size=200),
)
def test_any_event_is_written_as_a_report_the_parser_reads(
    kind: str, permanent: bool, recipient: str, diagnostic: str, message_id: str,
    return_path: str, payload: bytes,
) -> None:  # fmt: skip
    event = ProviderEvent(
        provider="ses", kind=kind, permanent=permanent, recipient=recipient,  # type: ignore[arg-type]
        status="5.1.1" if permanent else "4.2.2", diagnostic=diagnostic,
        message_id=message_id, return_path=return_path, payload=payload,
    )  # fmt: skip
    raw = report_bytes(event)
    raw.decode("ascii")
    parsed = bounce_parse.parse(raw)
    assert isinstance(parsed, bounce_parse.Parsed)
    if kind == "complaint":
        assert parsed.outcome is DeliveryOutcome.COMPLAINED
    else:
        expected = DeliveryOutcome.BOUNCED if permanent else DeliveryOutcome.DELAYED
        assert parsed.outcome is expected
