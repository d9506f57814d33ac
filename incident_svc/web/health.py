"""`/healthz` and `/metrics` of the service process.

``/healthz`` answers 200 when the database answers, the scheduler polls and every
dispatcher worker runs (parts switched off count as healthy), else 503; the body says which
part failed. ``/metrics`` is the Prometheus text format, version 0.0.4.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from incident_svc.domain.times import utcnow
from incident_svc.runtime.status import ServiceStatus
from incident_svc.services.metrics import DeliveryMetrics, database_problem, delivery_metrics
from incident_svc.services.obligation_countdowns import ObligationMetrics

ObligationsProbe = Callable[[datetime], Awaitable[ObligationMetrics]]

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
HEALTHY = {"ok", "running", "alive", "disabled"}


def health_routes(
    status: ServiceStatus, obligations: ObligationsProbe | None = None
) -> list[Route]:
    """The two routes, bound to this process's status (and what it knows of obligations)."""

    async def healthz(request: Request) -> Response:
        problem = await database_problem()
        checks = {
            "database": problem or "ok",
            "scheduler": status.scheduler_state(utcnow()),
            "dispatcher": status.dispatcher_state(),
        }
        healthy = problem is None and all(value in HEALTHY for value in checks.values())
        body = {"status": "ok" if healthy else "fail", "checks": checks}
        return JSONResponse(body, status_code=200 if healthy else 503, headers=_no_store())

    async def metrics(request: Request) -> Response:
        now = utcnow()
        numbers = await delivery_metrics(now=now)
        text = render_metrics(numbers, status, await obligations(now) if obligations else None)
        return PlainTextResponse(text, media_type=PROMETHEUS_TEXT, headers=_no_store())

    return [Route("/healthz", healthz), Route("/metrics", metrics)]


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}


def render_metrics(
    numbers: DeliveryMetrics, status: ServiceStatus, obligations: ObligationMetrics | None = None
) -> str:
    """The Prometheus exposition text for one scrape."""
    lines: list[str] = []
    _gauge(lines, "incident_svc_deliveries", "Deliveries by state.")
    lines += [f'incident_svc_deliveries{{state="{s}"}} {n}' for s, n in numbers.by_state.items()]
    singles = [
        ("incident_svc_send_rate", "Messages accepted per second, last 60 s.", numbers.send_rate),
        (
            "incident_svc_retry_backlog",
            "Pending deliveries that failed before.",
            numbers.retry_backlog,
        ),
        (
            "incident_svc_oldest_due_delivery_age_seconds",
            "Seconds the oldest due pending delivery has waited.",
            numbers.oldest_due_age_seconds,
        ),
        ("incident_svc_dispatcher_workers", "Dispatcher tasks running.", status.alive_workers()),
        (
            "incident_svc_dispatcher_restarts",
            "Dispatcher workers started again after a failure since this process started.",
            status.restarts,
        ),
        (
            "incident_svc_scheduler_running",
            "1 when the scheduler polls the database.",
            int(status.scheduler_state(utcnow()) == "running"),
        ),
    ]
    for name, help_text, value in singles:
        _gauge(lines, name, help_text)
        lines.append(f"{name} {_number(value)}")
    if status.scheduler is not None:
        _gauge(lines, "incident_svc_scheduler_alarms", "Alarms set, by what they do.")
        lines += [
            f'incident_svc_scheduler_alarms{{action="{action}"}} {n}'
            for action, n in status.scheduler.alarm_counts().items()
        ]
    if obligations is not None:
        _obligation_lines(lines, obligations)
    return "\n".join(lines) + "\n"


def _obligation_lines(lines: list[str], numbers: ObligationMetrics) -> None:
    _gauge(lines, "incident_svc_obligations", "Obligations with a fixed due time, by status.")
    lines += [
        f'incident_svc_obligations{{status="open"}} {numbers.open}',
        f'incident_svc_obligations{{status="late"}} {numbers.late}',
    ]
    if numbers.next_due_seconds is not None:
        name = "incident_svc_next_obligation_due_seconds"
        _gauge(lines, name, "Seconds until the next open obligation falls due.")
        lines.append(f"{name} {_number(numbers.next_due_seconds)}")


def _gauge(lines: list[str], name: str, help_text: str) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]


def _number(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
