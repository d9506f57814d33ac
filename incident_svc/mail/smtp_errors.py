"""aiosmtplib's errors translated into ours, at the boundary.

4xx replies, timeouts, disconnects and unreachable relays become
:class:`TransientDeliveryError` (try again later); 5xx replies, refused recipients and
addresses SMTP cannot carry become :class:`PermanentDeliveryError`.
"""

from __future__ import annotations

import aiosmtplib

from incident_svc.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError

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
