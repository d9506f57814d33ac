"""/metrics declares what only grows as a counter and the rest as gauges, one TYPE per name."""

from __future__ import annotations

from incident_svc.runtime.status import ServiceStatus
from incident_svc.services.metrics import DeliveryMetrics
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
