"""Email address syntax: email-validator, with a shortcut for plain ASCII addresses.

``normalise_email`` returns what ``email_validator.validate_email(text,
check_deliverability=False).normalized`` returns, and raises ValueError where it raises.
email-validator costs 25-50 µs an address here, most of it in Python-level checks of every
character of the domain for Unicode (UTS 46 validity, categories, hostname characters; a
cProfile of 20,000 addresses puts two thirds of the time in ``validate_email_domain_name``).
An address made only of ASCII atext, one @-sign and letter-digit-hyphen labels needs none of
that, so ``_plain`` answers for those in about a microsecond, following the library's rules:

- local part: RFC 5322 dot-atom text (no quoting, no empty atoms); kept as written, except the
  RFC 2142 role names (``Postmaster``, ``Info``, ...) that the library lower-cases;
- domain: letter-digit-hyphen labels of 1-63 characters, not starting or ending with a
  hyphen, no ``ab--`` labels and no Punycode (``xn--``) at all, a dot, a last character that
  is a letter, not a special-use name (``.test``, ``.local``, ...); lower-cased, as UTS 46
  mapping does to ASCII;
- the whole address at most 254 characters (so the domain is shorter than the library's 253).

``_plain`` only ever says "valid, and this is the normalised form"; anything else (including
every address it would reject) goes to the library, so every error message is the library's.
tests/test_emails.py checks with hypothesis that the two agree.

Internationalised addresses are kept as the library normalises them (domain in Unicode). On
the wire a domain always travels as A-labels (IDNA 2008, :func:`ascii_address`); a local part
that is not ASCII needs a relay that offers SMTPUTF8 (:func:`needs_smtputf8`).
"""

from __future__ import annotations

import re

import email_validator
import idna
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# a label never has hyphens as its 3rd and 4th characters here: only Punycode (xn--) may, and
# the shortcut leaves Punycode to the library
_LABEL = r"(?!..--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = r"(?!..--)(?:[A-Za-z0-9][A-Za-z0-9-]{0,61})?[A-Za-z]"  # top-level domains end with a letter
_PLAIN = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+{_TOP})")
_ROLE_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_SUFFIXES = tuple("." + name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
_MAX_ADDRESS = 254


def _plain(text: str) -> str | None:
    """The normalised form of a plain ASCII address, or None to ask the library."""
    match = _PLAIN.fullmatch(text) if len(text) <= _MAX_ADDRESS else None
    if match is None:
        return None
    local, domain = match.groups()
    domain = domain.lower()
    if "xn--" in domain or domain in _SPECIAL_USE or domain.endswith(_SPECIAL_USE_SUFFIXES):
        return None
    if local.lower() in _ROLE_NAMES:
        return f"{local.lower()}@{domain}"
    return f"{local}@{domain}"


def _library(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not a valid email address: {exc}") from None


def normalise_email(text: str) -> str:
    """The normalised address (domain in lower case); ValueError naming the problem."""
    return _plain(text) or _library(text)


def needs_smtputf8(address: str) -> bool:
    """True when the local part is not ASCII: only an SMTPUTF8 relay (RFC 6531) carries it.

    A non-ASCII domain never needs it: it travels as A-labels (:func:`ascii_address`)."""
    return not address.isascii() and not address.rpartition("@")[0].isascii()


def ascii_domain(domain: str) -> str:
    """The domain as A-labels (IDNA 2008, ``bücher.example`` -> ``xn--bcher-kva.example``);
    ValueError when it has no such form."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{domain!r} is not a valid internationalised domain: {exc}") from None


def ascii_address(address: str) -> str:
    """``address`` with its domain as A-labels (the local part as it is)."""
    local, at, domain = address.rpartition("@")
    if not at:
        raise ValueError(f"{address!r} has no @-sign")
    return f"{local}@{ascii_domain(domain)}"
