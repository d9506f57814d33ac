"""Hostile webhook requests over real HTTP: any body and headers, signed or not, get a clear
4xx (or 200 when what was signed reads as events), never a 500 or a traceback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from incident_svc.config import load_settings
from incident_svc.web.app import create_app
from incident_svc.web.webhooks import webhook_routes
from tests.support.module_db import module_database
from tests.support.server import serving_in_thread
from tests.support.webhook_keys import TOPIC, SendgridSigner, basic, mailgun_body
from tests.support.webhooks import Recorder, webhook_overrides

SENDGRID = SendgridSigner.make()
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
REFUSALS = {400, 401, 403, 409, 413}
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
keys = st.sampled_from(
    ["event", "email", "status", "type", "reason", "smtp-id", "recipient", "severity", "message",
     "RecordType", "ID", "Type", "Email", "Recipient", "delivery-status", "envelope", "id"]
)  # fmt: skip
event_like = st.dictionaries(keys, json_values, max_size=8)
header_text = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80)


@pytest.fixture(scope="module")
def client(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("webhooks")
    with module_database(migrated_template, folder) as url:
        overrides = {"database_url": url, "var_dir": str(folder / "var")}
        config = load_settings(overrides={**overrides, **webhook_overrides(SENDGRID)})
        routes = webhook_routes(config, ingest=Recorder())
        app = create_app(settings=config, extra_routes=routes, manage_database=False)
        with (
            serving_in_thread(app, database_url=url) as base,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            yield http


def check(response: httpx.Response, allowed: set[int] = REFUSALS) -> None:
    assert response.status_code in allowed, response.text
    assert "Traceback" not in response.text
    if response.status_code != 200:
        assert set(response.json()) == {"error"}


@BOUNDED
@given(
    provider=st.sampled_from(["ses", "sendgrid", "mailgun", "postmark"]),
    body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(
        st.sampled_from(["X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp",
                         "Authorization", "Content-Type", "x-amz-sns-message-type"]),
        header_text,
    ),
)  # fmt: skip
def test_unsigned_anything_is_refused(
    client: httpx.Client, provider: str, body: bytes, headers: dict[str, str]
) -> None:
    check(client.post(f"/v1/webhooks/{provider}", content=body, headers=headers))


@BOUNDED
@given(message=st.fixed_dictionaries({"TopicArn": st.just(TOPIC)}, optional={
    "Type": st.sampled_from(["Notification", "SubscriptionConfirmation", "x"]) | json_values,
    "SigningCertURL": st.sampled_from(["https://sns.eu-west-1.amazonaws.com.evil/x.pem",
                                       "http://sns.eu-west-1.amazonaws.com/x.pem"]) | json_values,
    "SignatureVersion": st.sampled_from(["1", "2"]) | json_values,
    "Signature": json_values, "Message": json_values, "Timestamp": json_values,
}))  # fmt: skip
def test_sns_shaped_but_unsigned_is_refused_without_fetching(
    client: httpx.Client, message: dict[str, Any]
) -> None:
    check(client.post("/v1/webhooks/ses", content=json.dumps(message)))


@BOUNDED
@given(events=st.lists(event_like, max_size=4) | json_values)
def test_signed_sendgrid_bodies_never_fail(client: httpx.Client, events: Any) -> None:
    body = json.dumps(events).encode()
    headers = SENDGRID.headers(body, int(time.time()))
    check(client.post("/v1/webhooks/sendgrid", content=body, headers=headers), REFUSALS | {200})


@BOUNDED
@given(event=event_like | json_values, token=st.text(max_size=30))
def test_signed_mailgun_bodies_never_fail(client: httpx.Client, event: Any, token: str) -> None:
    body = mailgun_body(event, int(time.time()), token)
    check(client.post("/v1/webhooks/mailgun", content=body), REFUSALS | {200})


@BOUNDED
@given(record=event_like | json_values)
def test_postmark_with_credentials_never_fails(client: httpx.Client, record: Any) -> None:
    body = json.dumps(record).encode()
    check(client.post("/v1/webhooks/postmark", content=body, headers=basic()), REFUSALS | {200})


@pytest.mark.parametrize("provider", ["ses", "sendgrid", "mailgun", "postmark"])
def test_webhooks_conform_to_the_openapi_document(client: httpx.Client, provider: str) -> None:
    base = str(client.base_url).rstrip("/")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    assert {p for p in schema if p.startswith("/v1/webhooks/")} == {
        f"/v1/webhooks/{name}" for name in ("ses", "sendgrid", "mailgun", "postmark")
    }
    operation = schema[f"/v1/webhooks/{provider}"]["POST"]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: Any) -> None:
        case.call_and_validate(base_url=base)

    call()
