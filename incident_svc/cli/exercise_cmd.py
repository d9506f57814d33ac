"""`incident-svc exercise`: rehearse an incident in an isolated copy (docs/exercises.md)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from incident_svc import db
from incident_svc.cli.output import JSON_OPTION, console, error, print_json, print_table
from incident_svc.cli.runtime import state
from incident_svc.cli.safe_text import visible
from incident_svc.domain.exercise_scenario import ScenarioError
from incident_svc.errors import ConflictError, ValidationError
from incident_svc.services.exercises import isolation, lifecycle, registry, report, running
from incident_svc.services.exercises.registry import Exercise

app = typer.Typer(
    help=(
        "Tabletop exercises: a full incident in its own database, with its own mail sink, feed "
        "path and an accelerated clock. Nothing reaches a real relay or the public feed."
    ),
    no_args_is_help=True,
)


def _summary(exercise: Exercise) -> dict[str, Any]:
    clock = exercise.clock()
    return exercise.as_dict() | {
        "database_url": db.redact_url(exercise.database_url),
        "exercise_hour": round(clock.hour(), 2) if exercise.ended_at is None else None,
        "feed_path": exercise.feed_path,
    }


@app.command()
def start(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The exercise's name: a-z, 0-9 and '-'."),
    from_ref: str | None = typer.Option(
        None, "--from", help="Copy this real incident (its clock facts and affected people)."
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        help="A scenario file (TOML): incident, people, injects.",
        dir_okay=False,
    ),
    speed: float = typer.Option(
        60.0, "--speed", help="Exercise seconds per real second (1..100000; 60: an hour a minute)."
    ),
    sink_port: int | None = typer.Option(
        None, "--sink-port", min=1, max=65535, help="The exercise mail sink's port (default: free)."
    ),
    feed_port: int | None = typer.Option(
        None, "--feed-port", min=1, max=65535, help="The exercise feed's port (default: free)."
    ),
    run_now: bool = typer.Option(
        False, "--run", help="Go on to `exercise run`: play the timeline in the foreground."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Start an exercise: build its database, seed it, and mark it in the real audit log.

    Then act on it with the normal commands and `--exercise NAME` (or
    INCIDENT_SVC_EXERCISE=NAME), and play it with `exercise run NAME` in another terminal.

    Examples:

        incident-svc exercise start drill-dec --scenario drills/billing.toml --speed 3600

        incident-svc exercise start drill-inc7 --from INC-2026-0007 --speed 1440 --run
    """
    cli = state(ctx)
    if cli.exercise_name is not None:
        raise ValidationError(
            "exercise start runs against the real database: drop --exercise and unset "
            "INCIDENT_SVC_EXERCISE"
        )
    request = lifecycle.StartRequest(
        name=name, speed=speed, actor=cli.actor, source_ref=from_ref, scenario_path=scenario,
        sink_port=sink_port, feed_port=feed_port,
    )  # fmt: skip
    try:
        exercise = asyncio.run(lifecycle.start(cli.real_settings, request))
    except ScenarioError as exc:  # every problem of the file, one line each, then exit 5
        for line in exc.problems:
            error(line)
        raise typer.Exit(exc.exit_code) from None
    if json_output:
        print_json(_summary(exercise))
    else:
        console.print(
            f"exercise {exercise.name} started: incident {exercise.incident_ref} at "
            f"{exercise.speed:g}x, {exercise.hours:g} exercise hours; mail sink "
            f"{isolation.SINK_HOST}:{exercise.sink_port}, feed "
            f"http://{isolation.SINK_HOST}:{exercise.feed_port}{exercise.feed_path}/v1/banners",
            markup=False,
        )
        console.print(
            f"act on it with: incident-svc --exercise {exercise.name} ...; play it with: "
            f"incident-svc exercise run {exercise.name}",
            markup=False,
        )
    if run_now:
        _run(cli.real_settings.var_dir, exercise, ctx)


def _run(var_dir: Path, exercise: Exercise, ctx: typer.Context) -> None:
    settings = isolation.exercise_settings(state(ctx).real_settings, exercise)
    asyncio.run(running.run(exercise, settings, var_dir, say=sayer(exercise.name)))


def sayer(name: str) -> Callable[[str], None]:
    """How `exercise run` prints a line: one line, flushed at once, stored values (a subject,
    a summary) shown literally with control characters made visible."""

    def say(line: str) -> None:
        sys.stdout.write(visible(f"[{name}] {line}") + "\n")
        sys.stdout.flush()

    return say


@app.command("run")
def run_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The exercise to play."),
) -> None:
    """Play an exercise in the foreground until its timeline ends (or SIGINT/SIGTERM).

    Runs its development mail sink, `serve` on its database and clock (scheduler, delivery,
    the feed under /exercises/NAME only) and applies each inject at its exercise hour.
    """
    real = state(ctx).real_settings
    exercise = registry.load(real.var_dir, name)
    if exercise.ended_at is not None:
        raise ConflictError(f"exercise {name!r} has ended; see `exercise report {name}`")
    _run(real.var_dir, exercise, ctx)


@app.command("list")
def list_command(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
    """List the exercises started from this state folder, running and ended."""
    found = [_summary(e) for e in registry.all_exercises(state(ctx).real_settings.var_dir)]
    if json_output:
        print_json(found)
        return
    if not found:
        console.print("no exercises", markup=False)
        return
    print_table(
        [
            {**row, "state": "ended" if row["ended_at"] else f"hour {row['exercise_hour']}"}
            for row in found
        ],
        ["name", "incident_ref", "speed", "started_by", "started_at", "state"],
    )


@app.command()
def end(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The exercise to end."),
    discard: bool = typer.Option(
        False, "--discard", help="Also drop its database and folder (no report afterwards)."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """End an exercise: mark exercise.ended in the real audit log; keep it for the report."""
    cli = state(ctx)
    exercise = asyncio.run(
        lifecycle.end(cli.real_settings, name=name, actor=cli.actor, discard=discard)
    )
    if json_output:
        print_json(_summary(exercise) | {"discarded": discard})
        return
    hour = exercise.clock().hour(exercise.clock().at(exercise.ended_at or exercise.started_at))
    console.print(f"exercise {name} ended at exercise hour {hour:.1f}", markup=False)


@app.command("report")
def report_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The exercise to report on."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Each obligation, when it was met or missed on the exercise clock; time from awareness
    to the first notice; the injects; and what was never done."""
    real = state(ctx).real_settings
    exercise = registry.load(real.var_dir, name)
    settings = isolation.exercise_settings(real, exercise)
    clock = exercise.clock()
    at = clock.at(exercise.ended_at) if exercise.ended_at else clock.now()
    at = min(at, clock.moment_of(exercise.hours))  # the timeline's end at the latest

    async def main() -> dict[str, Any]:
        with isolation.activate(exercise):
            async with db.database(settings.database_url, create=False):
                return await report.build(exercise, settings, now=at)

    data = asyncio.run(main())
    if json_output:
        print_json(data)
        return
    _print_report(data)


def _print_report(data: dict[str, Any]) -> None:
    first = data["hours_from_awareness_to_first_notice"]
    console.print(
        f"exercise {data['exercise']} ({data['incident']}), {data['speed']:g}x, "
        f"at exercise hour {data['exercise_hour']:g}"
        + (" (ended)" if data["ended"] else " (running)"),
        markup=False,
    )
    console.print(
        "awareness to first notice: "
        + (f"{first:g} h" if first is not None else "no notice was sent")
        + f"; {data['notices_sent']} sent, {data['bounces']} bounced, {data['banners']} banners",
        markup=False,
    )
    if data["injects"]:
        print_table(data["injects"], ["hour", "kind", "summary"])
    shown = [o for o in data["obligations"] if o["verdict"] != "not applicable"]
    if shown:
        print_table(shown, ["key", "recipient", "due_at", "met_at", "verdict"])
    hidden = len(data["obligations"]) - len(shown)
    if hidden:
        console.print(f"{hidden} obligations do not apply (--json lists them)", markup=False)
    for line in data["never_done"]:
        console.print(f"never done: {line}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="exercise")
