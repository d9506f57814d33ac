"""Where SNS signing certificates and subscription confirmations are fetched from.

The production origin accepts only https URLs on ``sns.<region>.amazonaws.com`` (the
topic's region), verified against the system's trusted CAs, with no redirects followed.
Tests build an :class:`SnsOrigin` with their own host pattern and CA in code; no setting
can widen it.
"""

from __future__ import annotations

import re
import ssl
from collections import OrderedDict

import httpx

from incident_svc.domain.webhook_signatures import SNS_HOST, SignatureError, sns_url_allowed
from incident_svc.errors import IncidentSvcError, ValidationError

MAX_CERT_BYTES = 64 * 1024
_CACHE = 16


class OriginUnavailable(IncidentSvcError):
    """SNS could not be reached for a certificate or a confirmation: try again (HTTP 503)."""


class SnsOrigin:
    def __init__(
        self,
        *,
        host_pattern: re.Pattern[str] = SNS_HOST,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host_pattern = host_pattern
        self._verify: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = timeout
        self._certificates: OrderedDict[str, bytes] = OrderedDict()

    def allowed(self, url: str, *, region: str) -> bool:
        return sns_url_allowed(url, region=region, host_pattern=self.host_pattern)

    async def certificate(self, url: str, *, region: str) -> bytes:
        """The PEM at ``url`` (cached), or :class:`SignatureError` if it may not be used."""
        if not self.allowed(url, region=region) or not url.endswith(".pem"):
            raise SignatureError(
                "sns: SigningCertURL is not an SNS certificate URL", field="SigningCertURL"
            )
        cached = self._certificates.get(url)
        if cached is not None:
            self._certificates.move_to_end(url)
            return cached
        body = await self._get(url, "SigningCertURL")
        self._certificates[url] = body
        while len(self._certificates) > _CACHE:
            self._certificates.popitem(last=False)
        return body

    async def confirm(self, url: str, *, region: str) -> None:
        """Visit a SubscribeURL (only on an SNS host of the topic's region)."""
        if not self.allowed(url, region=region):
            raise SignatureError("sns: SubscribeURL is not on an SNS host", field="SubscribeURL")
        await self._get(url, "SubscribeURL")

    async def _get(self, url: str, field: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(
                    verify=self._verify, timeout=self._timeout, follow_redirects=False
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise ValidationError(
                        f"sns: {field} answered {response.status_code}", field=field
                    )
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_CERT_BYTES:
                        raise ValidationError(f"sns: {field} sent too much", field=field)
                return body
        except httpx.HTTPError as exc:
            raise OriginUnavailable(
                f"sns: {field} could not be fetched ({type(exc).__name__})"
            ) from None
