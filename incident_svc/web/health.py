"""`/healthz` and `/metrics` of the service process.

``/healthz`` answers 200 ``ok`` when the database answers, the relay can be reached, the
scheduler polls and every dispatcher worker runs (parts switched off count as healthy).
While the database does not answer or a relay cannot be reached it answers 200 ``degraded``
with the reason: the service is riding the fault out, and restarting it would not help. That
holds for what the outage does to the other parts too: while the database does not answer, a
scheduler whose polls are skipped (``stale``) and a dispatcher worker waiting to be started
again (``restarting``) are the outage's, not faults of their own (:func:`verdict`). A
scheduler that stopped polling or a dispatcher worker down with the database answering, and a
scheduler stopped or a worker dead at any time, answer 503 ``fail``. The body says which part
is in trouble. ``/metrics`` is the Prometheus text format, version 0.0.4.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from incident_svc.db_faults import fault_reason
from incident_svc.domain.times import utcnow
from incident_svc.service_status import ServiceStatus
from incident_svc.services.delivery.metrics import (
    DeliveryMetrics,
    database_problem,
    delivery_metrics,
)
from incident_svc.services.obligations.obligation_countdowns import ObligationMetrics
from incident_svc.services.relay.relay_state import RelayView, read_all

ObligationsProbe = Callable[[datetime], Awaitable[ObligationMetrics]]

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
HEALTHY = {"ok", "running", "alive", "disabled"}
# what a database outage does to the other parts: polls skipped, a worker waiting to restart
DATABASE_WAITS = {"stale", "restarting"}


def verdict(
    scheduler: str, dispatcher: str, *, database_down: bool, relay_down: bool
) -> tuple[str, int]:
    """``(status, HTTP code)`` for the parts' states and the faults that are current.

    While the database does not answer, a stale scheduler and a restarting dispatcher are
    waiting for it: ``degraded`` (a liveness probe must not restart the process for an outage
    it rides out). A stopped scheduler or a dead worker is ``fail`` whatever the cause.
    """
    excused = HEALTHY | DATABASE_WAITS if database_down else HEALTHY
    if scheduler not in excused or dispatcher not in excused:
        return "fail", 503
    if database_down or relay_down:
        return "degraded", 200
    return "ok", 200


def health_routes(
    status: ServiceStatus, obligations: ObligationsProbe | None = None
) -> list[Route]:
    """The two routes, bound to this process's status (and what it knows of obligations)."""

    async def healthz(request: Request) -> Response:
        problem = await database_problem()
        relays = [] if problem else await read_all()
        down = [view.describe() for view in relays if not view.up]
        checks = {
            "database": f"unreachable: {problem}" if problem else "ok",
            "relay": "; ".join(down) if down else ("unknown" if problem else "ok"),
            "scheduler": status.scheduler_state(utcnow()),
            "dispatcher": status.dispatcher_state(),
        }
        answer, code = verdict(
            checks["scheduler"],
            checks["dispatcher"],
            database_down=bool(problem),
            relay_down=bool(down),
        )
        body = {"status": answer, "checks": checks}
        return JSONResponse(body, status_code=code, headers=_no_store())

    async def metrics(request: Request) -> Response:
        try:
            numbers = await delivery_metrics(now=utcnow())
            relays = await read_all()
            probed = await obligations(utcnow()) if obligations else None
        except Exception as exc:
            reason = fault_reason(exc)
            if reason is None:
                raise
            text = f"# the database does not answer: {' '.join(reason.split())}\n"
            return PlainTextResponse(text, status_code=503, headers=_no_store())
        text = render_metrics(numbers, status, relays, probed)
        return PlainTextResponse(text, media_type=PROMETHEUS_TEXT, headers=_no_store())

    return [Route("/healthz", healthz), Route("/metrics", metrics)]


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}


def render_metrics(
    numbers: DeliveryMetrics,
    status: ServiceStatus,
    relays: list[RelayView] | None = None,
    obligations: ObligationMetrics | None = None,
) -> str:
    """The Prometheus exposition text for one scrape."""
    lines: list[str] = []
    up = {view.relay: int(view.up) for view in relays or []}
    if status.relay is not None:
        up.setdefault(status.relay, 1)  # no row yet: no dispatcher has failed to reach it
    if up:
        _gauge(lines, "incident_svc_relay_up", "1 while the SMTP relay can be reached, else 0.")
        lines += [
            f'incident_svc_relay_up{{relay="{_label(r)}"}} {n}' for r, n in sorted(up.items())
        ]
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
            "incident_svc_scheduler_running",
            "1 when the scheduler polls the database.",
            int(status.scheduler_state(utcnow()) == "running"),
        ),
    ]
    for name, help_text, value in singles:
        _gauge(lines, name, help_text)
        lines.append(f"{name} {_number(value)}")
    # only ever grows while the process lives: a counter (the name is kept as it was)
    name = "incident_svc_dispatcher_restarts"
    _header(lines, name, "Dispatcher workers started again after a failure.", "counter")
    lines.append(f"{name} {status.restarts}")
    if status.scheduler is not None:
        _gauge(lines, "incident_svc_scheduler_alarms", "Alarms set, by what they do.")
        lines += [
            f'incident_svc_scheduler_alarms{{action="{action}"}} {n}'
            for action, n in status.scheduler.alarm_counts().items()
        ]
    if obligations is not None:
        _obligation_lines(lines, obligations)
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
    _header(lines, name, help_text, "gauge")


def _header(lines: list[str], name: str, help_text: str, kind: str) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _number(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
