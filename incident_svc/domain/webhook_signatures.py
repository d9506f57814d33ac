"""Signature checks for the provider webhooks; no I/O (the SNS certificate is fetched by the
caller, see web/sns_origin.py). All cryptography is the ``cryptography`` package's.

    SNS       RSA over the canonical "Key\\nValue\\n" string (SignatureVersion 1: SHA1,
              2: SHA256) with the certificate at SigningCertURL, which must be https on
              sns.<region>.amazonaws.com, the region of the topic
    SendGrid  ECDSA P-256 / SHA256 over timestamp + body, key from the SendGrid console
    Mailgun   HMAC-SHA256 over timestamp + token with the webhook signing key
    Postmark  HTTP basic credentials that the webhook URL carries
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from incident_svc.errors import ValidationError


class SignatureError(ValidationError):
    """The request is not signed, or not by whom it claims: refused (HTTP 403)."""


SNS_HOST = re.compile(r"sns\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?")
_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


def sns_string_to_sign(message: Mapping[str, object]) -> bytes:
    """The canonical text SNS signs, from the fields of its message type."""
    keys = _NOTIFICATION_KEYS if message.get("Type") == "Notification" else _CONFIRMATION_KEYS
    text = ""
    for key in keys:
        value = message.get(key)
        if value is None and key == "Subject":
            continue
        if not isinstance(value, str):
            raise SignatureError(f"sns: field {key} is missing", field=key)
        text += f"{key}\n{value}\n"
    return text.encode("utf-8")


def topic_region(topic_arn: str) -> str:
    """The region of ``arn:aws:sns:REGION:ACCOUNT:NAME``."""
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[3]:
        raise ValidationError("sns: TopicArn is not an SNS topic ARN", field="TopicArn")
    return parts[3]


def sns_url_allowed(
    url: str, *, region: str | None, host_pattern: re.Pattern[str] = SNS_HOST
) -> bool:
    """https, no credentials or port games, and a host of SNS in ``region`` (any when None)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username or parts.password or parts.hostname is None:
        return False
    match = host_pattern.fullmatch(parts.hostname)
    if match is None or (port is not None and host_pattern is SNS_HOST and port != 443):
        return False
    return region is None or not match.groups() or match.group(1) == region


def verify_sns(message: Mapping[str, object], certificate_pem: bytes) -> None:
    """Raise :class:`SignatureError` unless the certificate's key signed the message."""
    version = message.get("SignatureVersion")
    algorithm = _HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise SignatureError("sns: unknown SignatureVersion", field="SignatureVersion")
    signature = _b64(message.get("Signature"), "Signature")
    try:
        key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    except ValueError:
        raise SignatureError(
            "sns: the signing certificate is not PEM", field="SigningCertURL"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("sns: the signing certificate is not RSA", field="SigningCertURL")
    try:
        key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SignatureError("sns: bad signature", field="Signature") from None


def verify_sendgrid(
    public_key: str, signature: str | None, timestamp: str | None, body: bytes
) -> None:
    if not signature or not timestamp:
        raise SignatureError("sendgrid: the request is not signed", field="signature")
    try:
        key = load_der_public_key(base64.b64decode(public_key, validate=True))
    except (ValueError, binascii.Error):
        raise SignatureError(
            "sendgrid: public_key is not a base64 DER key", field="public_key"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureError("sendgrid: public_key is not an ECDSA key", field="public_key")
    try:
        key.verify(
            _b64(signature, "signature"), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        raise SignatureError("sendgrid: bad signature", field="signature") from None


def mailgun_signature(key: bytes, timestamp: str, token: str) -> str:
    return hmac.new(key, (timestamp + token).encode("utf-8"), hashlib.sha256).hexdigest()


def verify_mailgun(key: bytes, timestamp: str, token: str, signature: str) -> None:
    expected = mailgun_signature(key, timestamp, token)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise SignatureError("mailgun: bad signature", field="signature")


def verify_basic(header: str | None, username: str, password: str) -> None:
    """Constant-time comparison of an ``Authorization: Basic`` header with the credentials."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    given = (header or "").encode("utf-8", "replace")
    if not hmac.compare_digest(given, expected.encode()):
        raise SignatureError("postmark: missing or wrong credentials", field="authorization")


def fresh(timestamp: float, *, now: float, max_age: float) -> bool:
    """Within ``max_age`` seconds of now, either side (clocks drift)."""
    return abs(now - timestamp) <= max_age


def _b64(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise SignatureError(f"missing {name}", field=name)
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(f"{name} is not base64", field=name) from None
