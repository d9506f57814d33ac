"""aiosmtplib's errors translated into ours, at the boundary.

4xx replies, timeouts, disconnects and unreachable relays become
:class:`TransientDeliveryError` (try again later); 5xx replies, refused recipients and
addresses SMTP cannot carry become :class:`PermanentDeliveryError`. A relay that cannot be
reached at all raises :class:`RelayUnavailableError`: no message was offered, so no attempt
is spent, and the relay's circuit opens until a probe gets through. That is a connection
refused or timed out, a 4xx or 5xx greeting, a 421 (closing) at any step of the setup, and a
TLS handshake that fails in any way (cut, reset, an alert, a protocol the relay does not
speak) except one: a certificate we do not trust. That, a refused login and STARTTLS or AUTH
not offered are the setup's fault, a setting to fix: :class:`RelaySetupError`, no delivery
failed or retried for it, no address marked bounced, the campaign set aside. (A handshake
failure caused by a wrong ``smtp.tls`` / ``smtp.starttls`` / ``smtp.port`` looks the same on
the wire as a relay's TLS front end failing, so it is waited out like an outage; its reason
says what to check if it lasts, and the outage alert comes after
``delivery.outage_alert_seconds``.)
"""

from __future__ import annotations

import ssl

import aiosmtplib

from incident_svc.config import SmtpSettings
from incident_svc.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RelaySetupError,
    RelayUnavailableError,
    TransientDeliveryError,
    causes,
)
from incident_svc.mail.smtp_transaction import SmtpUtf8Missing

_CONNECTION_LOST = (
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    aiosmtplib.SMTPConnectError,
    TimeoutError,
    OSError,
)


def translate(exc: BaseException) -> DeliveryError:
    """Our error for one of aiosmtplib's (or the socket's); callers ``raise ... from exc``."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}".strip()
        kind = PermanentDeliveryError if 500 <= exc.code < 600 else TransientDeliveryError
        return kind(f"the relay answered {reply}", code=exc.code, reply=reply)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        code = first.code if first else 550
        reply = f"{code} {first.message if first else 'recipient refused'}"
        kind = PermanentDeliveryError if code >= 500 else TransientDeliveryError
        return kind(f"the relay refused the recipient: {reply}", code=code, reply=reply)
    if isinstance(exc, SmtpUtf8Missing):
        return PermanentDeliveryError(str(exc), reply="SMTPUTF8 not offered")
    if isinstance(exc, UnicodeEncodeError):
        return PermanentDeliveryError(
            "the address is not ASCII and the relay path does not carry SMTPUTF8", reply=str(exc)
        )
    if isinstance(exc, _CONNECTION_LOST):
        what = type(exc).__name__
        return TransientDeliveryError(f"connection to the relay failed ({what}: {exc})")
    if isinstance(exc, aiosmtplib.SMTPException):
        return TransientDeliveryError(f"SMTP error ({type(exc).__name__}: {exc})")
    raise TypeError(f"not an SMTP failure: {exc!r}") from exc


def connection_is_dead(exc: BaseException) -> bool:
    """True when the connection cannot carry another message (a timed-out one is dead too)."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421  # "service not available, closing transmission channel"
    return isinstance(exc, _CONNECTION_LOST)


def unreachable(exc: BaseException, settings: SmtpSettings) -> RelayUnavailableError | None:
    """Our error when ``exc``, raised while opening a connection, means the relay cannot be
    reached at all; None when it is something else (a certificate we do not trust, a login
    refused, STARTTLS or AUTH not offered: setup_failure's)."""
    tls = _ssl_error(exc)
    hint = ""
    if isinstance(tls, ssl.SSLCertVerificationError):
        return None  # a certificate we do not trust: a setting to fix (setup_failure's)
    if tls is not None:
        why = f"TLS handshake failed: {type(tls).__name__}: {tls.reason or tls}"
        if not isinstance(tls, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            hint = f"; if it lasts, {_TLS_SETTINGS}"  # it may be ours: TLS on a plain port
    elif isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        why = f"{exc.code} {exc.message} at greeting".strip()
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code != _CLOSING:
            return None  # a refused login, STARTTLS refused: setup_failure's
        why = f"{exc.code} {exc.message} during the connection's setup".strip()
    elif isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError):
        cause = exc.__cause__
        shown = cause if isinstance(cause, OSError) else exc  # the socket's words
        why = f"{type(shown).__name__}: {shown}" if str(shown) else type(shown).__name__
    elif isinstance(exc, aiosmtplib.SMTPServerDisconnected | OSError | TimeoutError):
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        return None
    relay = f"{settings.host}:{settings.port}"
    return RelayUnavailableError(f"the relay {relay} cannot be reached ({why}){hint}", reply=why)


def setup_failure(exc: BaseException, settings: SmtpSettings) -> RelaySetupError | None:
    """Our error when ``exc``, raised while opening a connection, is the setup's fault."""
    relay = f"the relay {settings.host}:{settings.port}"
    tls = _ssl_error(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return RelaySetupError(
            f"{relay} presented a certificate we do not trust ({tls.verify_message}); set "
            "smtp.ca_file to the CA that signed it, or check that smtp.host is its name",
            key="smtp.ca_file",
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code in _LOGIN_REFUSED:
        return RelaySetupError(
            f"{relay} refused the login of {settings.username!r} ({exc.code} {exc.message}); "
            "check smtp.username and the password (INCIDENT_SVC_SMTP__PASSWORD)",
            key="smtp.password",
        )
    if type(exc) in (aiosmtplib.SMTPException, aiosmtplib.SMTPNotSupported):
        # aiosmtplib's words for "the server does not offer STARTTLS / AUTH as configured"
        return RelaySetupError(f"{relay} cannot be used as configured: {exc}", key="smtp")
    return None


_CLOSING = 421  # "service not available, closing transmission channel" (RFC 5321)
_TLS_SETTINGS = (
    "check smtp.tls, smtp.starttls and smtp.port (465 is usually implicit TLS, 587 STARTTLS)"
)
# 530 authentication required, 534 mechanism too weak, 535 credentials invalid,
# 538 encryption required for the mechanism (RFC 4954); 454 (temporary) is retried.
_LOGIN_REFUSED = frozenset({530, 534, 535, 538})


def _ssl_error(exc: BaseException | None) -> ssl.SSLError | None:
    """The TLS error behind ``exc`` (aiosmtplib wraps implicit TLS errors in SMTPConnectError)."""
    return next((seen for seen in causes(exc, limit=5) if isinstance(seen, ssl.SSLError)), None)
