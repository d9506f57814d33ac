"""A webhook test bench: the serve app's webhook routes on a real uvicorn, an HTTPS stand-in
for SNS (certificate and SubscribeURL) signed by a throwaway CA, and a recording ingestion."""

from __future__ import annotations

import contextlib
import hashlib
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from incident_svc.config import Settings
from incident_svc.services.bounce.bounce_sources.ingest_port import Ingest
from incident_svc.services.bounce.bounces import IngestResult
from incident_svc.web.app import create_app
from incident_svc.web.sns_origin import SnsOrigin
from incident_svc.web.webhooks import webhook_routes
from tests.support.server import serving
from tests.support.tls import make_pki
from tests.support.webhook_keys import (
    MAILGUN_KEY,
    POSTMARK_PASSWORD,
    POSTMARK_USER,
    TOPIC,
    SendgridSigner,
    SnsSigner,
)


@dataclass
class Recorder:
    """An ingestion that keeps what it was given (to look at the exact bytes and order)."""

    reports: list[tuple[bytes, str]] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, raw: bytes, source: str) -> IngestResult:
        if self.fail:
            raise RuntimeError("ingestion failed")
        self.reports.append((raw, source))
        return IngestResult(hashlib.sha256(raw).hexdigest(), "recorded", source)


@dataclass
class SnsStandIn:
    """What SNS serves: the signing certificate, and the SubscribeURL it records visits to."""

    certificate_pem: bytes
    visits: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def cert(request: Request) -> Response:
            self.visits.append(request.url.path)
            return Response(self.certificate_pem, media_type="application/x-pem-file")

        async def confirm(request: Request) -> Response:
            self.visits.append(f"{request.url.path}?{request.url.query}")
            return Response(b"<ConfirmSubscriptionResponse/>", media_type="text/xml")

        return Starlette(routes=[Route("/cert.pem", cert), Route("/confirm", confirm)])


def webhook_overrides(sendgrid: SendgridSigner, **changes: Any) -> dict[str, Any]:
    hooks: dict[str, Any] = {
        "max_body_bytes": 64 * 1024,
        "ses": {"topic_arns": [TOPIC]},
        "sendgrid": {"public_key": sendgrid.public_key},
        "mailgun": {"signing_key": MAILGUN_KEY},
        "postmark": {"username": POSTMARK_USER, "password": POSTMARK_PASSWORD},
    }
    hooks.update(changes)
    return {"bounces": {"webhooks": hooks}}


@dataclass
class Bench:
    client: httpx.AsyncClient
    recorder: Recorder
    sns: SnsStandIn
    signer: SnsSigner
    sendgrid: SendgridSigner


def local_origin(ca_file: Path) -> SnsOrigin:
    """An SNS origin for tests: 127.0.0.1 only, trusting the test CA only."""
    return SnsOrigin(
        host_pattern=re.compile(r"127\.0\.0\.1"),
        ssl_context=ssl.create_default_context(cafile=ca_file),
    )


@contextlib.asynccontextmanager
async def bench(
    settings: Settings,
    tmp_path: Path,
    signer: SnsSigner,
    sendgrid: SendgridSigner,
    ingest: Ingest | None = None,
) -> AsyncIterator[Bench]:
    pki = make_pki(tmp_path / "pki", name="sns")
    sns = SnsStandIn(signer.certificate_pem)
    recorder = Recorder()
    routes = webhook_routes(
        settings, ingest=ingest or recorder, sns_origin=local_origin(pki.ca_file)
    )
    app = create_app(settings=settings, extra_routes=routes, manage_database=False)
    async with serving(sns.app(), tls=pki) as sns_url, serving(app) as url:
        sns.url = sns_url
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Bench(client, recorder, sns, signer, sendgrid)
