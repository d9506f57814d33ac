"""What we publish says what it means: metric types in /metrics, and an OpenAPI document that
allows new fields as the docs promise."""

from __future__ import annotations

from pathlib import Path

from incident_svc.service_status import ServiceStatus
from incident_svc.services.delivery.metrics import DeliveryMetrics
from incident_svc.web.health import render_metrics


def test_types_of_every_metric() -> None:
    numbers = DeliveryMetrics({"sent": 3, "pending": 1}, 2, 0, 0.0)
    text = render_metrics(numbers, ServiceStatus(restarts=4))
    types = dict(line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE "))
    assert types.pop("incident_svc_dispatcher_restarts") == "counter"
    assert set(types.values()) == {"gauge"}
    assert "incident_svc_dispatcher_restarts 4" in text.splitlines()
    names = {
        line.split("{")[0].split()[0] for line in text.splitlines() if not line.startswith("#")
    }
    assert names == set(types) | {"incident_svc_dispatcher_restarts"}


def test_openapi_allows_new_fields_as_the_docs_say() -> None:
    from incident_svc.web.openapi import BANNER_SCHEMA, FEED_SCHEMA

    docs = (Path(__file__).parents[1] / "docs" / "banners.md").read_text()
    assert "new optional fields may appear" in docs
    assert BANNER_SCHEMA["additionalProperties"] is True
    assert FEED_SCHEMA["additionalProperties"] is True


def test_the_readme_trial_domains_are_what_the_validator_does() -> None:
    import pytest

    from incident_svc.domain.emails import normalise_email

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "`.test`, `.invalid`, `.localhost`, `.local`" in readme
    assert normalise_email("alice@acme.example") == "alice@acme.example"
    for domain in ("acme.test", "acme.invalid", "acme.localhost", "acme.local"):
        with pytest.raises(ValueError, match="special-use or reserved name"):
            normalise_email(f"alice@{domain}")
