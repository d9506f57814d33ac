"""Fast MIME assembly for notices: static parts built once, per-person parts filled in.

A notice is ``multipart/alternative`` with a text and an HTML part, both UTF-8. What is the
same for every message of a campaign (From, Reply-To, MIME-Version, the multipart header and
boundary, the part headers) is a :class:`MimeSkeleton` built once; :func:`assemble` then only
encodes the per-person headers and bodies and joins bytes. That costs a fraction of building
and serialising an ``email.message.EmailMessage`` (see ``bench/mime_bench.py``), and
:func:`build_slow` keeps the standard library's version for tests that prove both parse back
to the same message.

Bodies: pure-ASCII text goes quoted-printable (readable on the wire), anything else base64;
both are done in C by :mod:`binascii`. The boundary contains ``=_``, which neither encoding can
produce, so it can never occur inside a part.
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from incident_svc.errors import ValidationError
from incident_svc.mail import headers

_CRLF = b"\r\n"
_B64_LINE = 76


@dataclass(frozen=True)
class MimeSkeleton:
    """The bytes every message of one campaign and template shares."""

    common_headers: bytes  # From .. Content-Type of the multipart, ending in a blank line
    text_opening: bytes  # boundary line and the text part's headers
    html_opening: bytes  # boundary line and the HTML part's headers
    closing: bytes  # the final boundary


@dataclass(frozen=True)
class Mailbox:
    name: str
    addr: str


def parse_mailbox(field: str, value: str) -> Mailbox:
    """``Name <addr>`` or ``addr`` from configuration, refused when malformed."""
    headers.require_single_line(field, value)
    name, addr = parseaddr(value)
    if not addr:
        raise ValidationError(
            f"{value!r} is not an address like Name <user@example.com>", field=field
        )
    headers.mailbox(field, addr)
    return Mailbox(name=name, addr=addr)


def build_skeleton(
    *, sender: Mailbox, reply_to: Mailbox | None = None, boundary: str | None = None
) -> MimeSkeleton:
    """Encode the static parts once; ``boundary`` is random unless a test fixes it."""
    boundary = boundary or f"=_notice_{secrets.token_hex(12)}"
    lines = [f"From: {headers.address('From', sender.name, sender.addr)}"]
    if reply_to is not None:
        lines.append(f"Reply-To: {headers.address('Reply-To', reply_to.name, reply_to.addr)}")
    lines += [
        "MIME-Version: 1.0",
        "Auto-Submitted: auto-generated",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
    ]
    common = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return MimeSkeleton(
        common_headers=common,
        text_opening=_part_opening(boundary, "text/plain"),
        html_opening=_part_opening(boundary, "text/html"),
        closing=f"--{boundary}--\r\n".encode("ascii"),
    )


def _part_opening(boundary: str, content_type: str) -> bytes:
    return f'--{boundary}\r\nContent-Type: {content_type}; charset="utf-8"\r\n'.encode("ascii")


def assemble(
    skeleton: MimeSkeleton,
    *,
    to: Mailbox,
    subject: str,
    date: str,
    message_id: str,
    text: str,
    html: str,
) -> bytes:
    """One complete message with CRLF line endings. ``date`` is an RFC 5322 date string."""
    head = (
        f"Date: {headers.require_single_line('Date', date)}\r\n"
        f"To: {headers.address('To', to.name, to.addr)}\r\n"
        f"Subject: {headers.unstructured('Subject', subject)}\r\n"
        f"Message-ID: {headers.message_id(message_id)}\r\n"
    )
    return b"".join(
        (
            head.encode("ascii"),
            skeleton.common_headers,
            skeleton.text_opening,
            _encode_body(text),
            skeleton.html_opening,
            _encode_body(html),
            skeleton.closing,
        )
    )


def _encode_body(body: str) -> bytes:
    """Content-Transfer-Encoding header, blank line, encoded body; lines end in CRLF."""
    data = _crlf(body.encode("utf-8"))
    if data.isascii():
        encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        return b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded + _CRLF
    flat = binascii.b2a_base64(data, newline=False)
    wrapped = _CRLF.join([flat[i : i + _B64_LINE] for i in range(0, len(flat), _B64_LINE)])
    return b"Content-Transfer-Encoding: base64\r\n\r\n" + wrapped + _CRLF


def _crlf(data: bytes) -> bytes:
    """Every line ending (CR, LF or CRLF) a CRLF, and a final one, as the standard library does."""
    return _CRLF.join(data.splitlines()) + _CRLF


def build_slow(
    *,
    sender: Mailbox,
    reply_to: Mailbox | None,
    to: Mailbox,
    subject: str,
    date: str,
    message_id: str,
    text: str,
    html: str,
) -> bytes:
    """The same message through ``EmailMessage``: the reference that tests and bench compare to."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["Date"] = date
    msg["To"] = Address(display_name=to.name, addr_spec=to.addr)
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["From"] = Address(display_name=sender.name, addr_spec=sender.addr)
    if reply_to is not None:
        msg["Reply-To"] = Address(display_name=reply_to.name, addr_spec=reply_to.addr)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def encode_text_body(body: str) -> bytes:
    """A single-part body: Content-Transfer-Encoding, blank line, the encoded text (CRLF).

    Without the CRLF that, in a multipart message, belongs to the boundary after the part.
    """
    return _encode_body(body)[: -len(_CRLF)]
