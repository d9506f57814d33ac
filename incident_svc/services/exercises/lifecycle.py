"""Start and end an exercise; both are marked in the REAL audit log.

Start checks everything first (name, speed, scenario, the incident to copy), then builds the
exercise's folder and database, seeds it, writes the record, and last appends
``exercise.started`` to the real chain; if any step fails, what was built is removed, so an
exercise either exists and is marked, or does not exist.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from incident_svc import db
from incident_svc.config import Settings
from incident_svc.domain.exercise_clock import check_name, check_speed
from incident_svc.domain.exercise_scenario import Scenario, ScenarioError, parse
from incident_svc.domain.times import utcnow
from incident_svc.errors import ConflictError, ValidationError
from incident_svc.mail.relay_fence import is_loopback
from incident_svc.services.auditlog import audit, audit_key
from incident_svc.services.exercises import databases, isolation, registry, seeding
from incident_svc.services.exercises.registry import Exercise
from incident_svc.services.files.input_files import read_capped

MAX_SCENARIO_BYTES = 1_000_000


@dataclass(frozen=True)
class StartRequest:
    name: str
    speed: float
    actor: str
    source_ref: str | None = None
    scenario_path: Path | None = None
    sink_port: int | None = None
    feed_port: int | None = None
    hours: float | None = None  # timeline length without a scenario (default 72)


def read_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (ScenarioError: one line per problem)."""
    data = read_capped(path, cap=MAX_SCENARIO_BYTES, field="scenario")
    return parse(data, name=str(path))


def _check(request: StartRequest, scenario: Scenario | None) -> None:
    check_name(request.name)
    check_speed(request.speed)
    if request.source_ref is None and scenario is None:
        raise ValidationError("give --from INC (copy a real incident) or --scenario FILE")
    if scenario is not None and request.source_ref is None and scenario.incident is None:
        raise ScenarioError([f"{request.scenario_path}: [incident]: is required without --from"])
    if scenario is not None and request.source_ref is not None and scenario.incident is not None:
        raise ScenarioError(
            [f"{request.scenario_path}: [incident]: leave it out with --from (the copy is the "
             "incident)"]
        )  # fmt: skip


def _check_sink(real: Settings, port: int | None) -> None:
    """The sink port must not be where the real relay listens on this machine."""
    if port is not None and port == real.smtp.port and is_loopback(real.smtp.host):
        raise ValidationError(
            f"{port} is the port of the real relay {real.smtp.host}:{port}: choose another "
            "(or leave --sink-port out for a free one)",
            field="sink_port",
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((isolation.SINK_HOST, 0))
        return int(probe.getsockname()[1])


async def start(real: Settings, request: StartRequest) -> Exercise:
    """Build, seed and mark a new exercise (the real database is not open on entry)."""
    scenario = read_scenario(request.scenario_path) if request.scenario_path else None
    _check(request, scenario)
    _check_sink(real, request.sink_port)
    copy = None
    if request.source_ref is not None:
        async with db.database(real.database_url, create=False):
            copy = await seeding.read_incident(request.source_ref)
    home = registry.reserve(real.var_dir, request.name)
    url = databases.url_for(real.database_url, request.name, home)
    created = False
    try:
        if scenario is not None and request.scenario_path is not None:
            shutil.copyfile(request.scenario_path, home / registry.SCENARIO)
        await databases.create(url)
        created = True
        exercise = Exercise(
            name=request.name,
            database_url=url,
            started_at=utcnow(),
            speed=request.speed,
            started_by=request.actor,
            source=request.source_ref or "scenario",
            incident_ref=request.source_ref or "",
            sink_port=request.sink_port or free_port(),
            feed_port=request.feed_port or free_port(),
            hours=scenario.hours if scenario else (request.hours or 72.0),
            scenario=scenario is not None,
        )
        settings = isolation.exercise_settings(real, exercise)
        await databases.migrate(settings)
        exercise = replace(exercise, started_at=utcnow())  # hour 0: when it is ready to play
        exercise = await _seed(exercise, settings, scenario, copy)
        registry.save(real.var_dir, exercise)
        await _mark_real(real, exercise, action="exercise.started", actor=request.actor)
    except BaseException:
        if created:
            await databases.drop(url)
        shutil.rmtree(home, ignore_errors=True)
        raise
    return exercise


async def _seed(
    exercise: Exercise,
    settings: Settings,
    scenario: Scenario | None,
    copy: seeding.IncidentCopy | None,
) -> Exercise:
    key = audit_key.resolve(settings).key
    with isolation.activate(exercise, scenario):
        async with db.database(settings.database_url):
            if copy is not None:
                incident = await seeding.write_copy(copy, actor=exercise.started_by, key=key)
            else:
                assert scenario is not None and scenario.incident is not None
                incident = await seeding.create_incident(
                    scenario.incident, actor=exercise.started_by, key=key
                )
                await seeding.seed_people(
                    incident=incident,
                    count=scenario.people,
                    places=scenario.jurisdictions,
                    actor=exercise.started_by,
                    key=key,
                )
    return replace(exercise, incident_ref=incident.ref)


async def _mark_real(real: Settings, exercise: Exercise, *, action: str, actor: str) -> None:
    details: dict[str, Any] = {
        "exercise": exercise.name,
        "started_by": exercise.started_by,
        "started_at": exercise.started_at.isoformat(),
        "speed": exercise.speed,
        "source": exercise.source,
        "database": db.redact_url(exercise.database_url),
        "mail_sink": f"{isolation.SINK_HOST}:{exercise.sink_port}",
        "feed_path": exercise.feed_path,
    }
    if exercise.source.startswith("INC-"):
        details["incident"] = exercise.source  # `audit log --incident` shows the rehearsal
    if exercise.ended_at is not None:
        details |= {"ended_by": exercise.ended_by, "ended_at": exercise.ended_at.isoformat()}
    async with db.database(real.database_url, create=False), db.write_transaction() as conn:
        await audit.record(
            conn,
            actor=actor,
            action=action,
            target_type="exercise",
            target_id=exercise.name,
            details=details,
            key=audit_key.resolve(real).key,
        )


async def end(real: Settings, *, name: str, actor: str, discard: bool = False) -> Exercise:
    """Mark the exercise ended in the real audit log; ``discard`` drops its database too."""
    exercise = registry.load(real.var_dir, name)
    if exercise.ended_at is not None and not discard:
        raise ConflictError(f"exercise {name!r} ended at {exercise.ended_at.isoformat()}")
    if exercise.ended_at is None:
        exercise = registry.ended(exercise, at=utcnow(), by=actor)
        await _mark_real(real, exercise, action="exercise.ended", actor=actor)
        registry.save(real.var_dir, exercise)
    if discard:
        await databases.drop(exercise.database_url)
        shutil.rmtree(registry.folder(real.var_dir, name), ignore_errors=True)
    return exercise
