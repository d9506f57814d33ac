"""What an exercise runs in: settings that point at its own parts, and its clock and fence.

`exercise_settings` is the one place that turns the real settings into an exercise's: its
own database, its own state folder (audit key, checkpoints), the development mail sink, its
feed path, and no report mailbox or provider webhooks. `activate` installs the exercise clock
(domain/times.use_clock) and the relay fence (mail/relay_fence) for the code run inside it.
Both are context variables set around one command, never a global patch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from pathlib import Path

from incident_svc.config import Settings
from incident_svc.config_bounces import ImapSettings, WebhookSettings
from incident_svc.domain.exercise_scenario import Scenario, parse
from incident_svc.domain.times import use_clock
from incident_svc.mail.relay_fence import Fence, fenced
from incident_svc.services.exercises import registry
from incident_svc.services.exercises.registry import Exercise

SINK_HOST = "127.0.0.1"


def exercise_settings(base: Settings, exercise: Exercise) -> Settings:
    """The real settings with every outward-facing part replaced by the exercise's own."""
    home = registry.folder(base.var_dir, exercise.name)
    smtp = base.smtp.model_copy(
        update={
            "host": SINK_HOST,
            "port": exercise.sink_port,
            "username": None,
            "password": None,
            "starttls": False,
            "tls": False,
            "ca_file": None,
        }
    )
    audit = base.audit.model_copy(
        update={
            "key_file": home / "audit-hmac.key",
            "checkpoint_file": home / "audit-checkpoints.jsonl",
            "checkpoint_by_email": False,
            "checkpoints": [],
        }
    )
    feed = base.feed.model_copy(
        update={
            "host": SINK_HOST,
            "port": exercise.feed_port,
            "public_url": f"http://{SINK_HOST}:{exercise.feed_port}{exercise.feed_path}",
        }
    )
    retention = base.retention.model_copy(
        update={"enabled": False, "key_file": home / "retention-hmac.key"}
    )
    return base.model_copy(
        update={
            "database_url": exercise.database_url,
            "var_dir": home,
            "smtp": smtp,
            "audit": audit,
            "feed": feed,
            "retention": retention,
            "bounces": base.bounces.model_copy(
                update={"imap": ImapSettings(), "webhooks": WebhookSettings()}
            ),
        }
    )


def scenario_of(var_dir: Path, exercise: Exercise) -> Scenario | None:
    """The scenario kept beside the record (parsed again; it was valid at start)."""
    if not exercise.scenario:
        return None
    path = registry.folder(var_dir, exercise.name) / registry.SCENARIO
    return parse(path.read_bytes(), name=str(path))


def fence_of(exercise: Exercise, scenario: Scenario | None) -> Fence:
    clock = exercise.clock()
    outages = tuple(
        (clock.moment_of(i.hour), clock.moment_of(i.hour + i.hours))
        for i in (scenario.injects if scenario else ())
        if i.kind == "relay_outage"
    )
    return Fence(exercise=exercise.name, host=SINK_HOST, port=exercise.sink_port, outages=outages)


@contextmanager
def activate(exercise: Exercise, scenario: Scenario | None = None) -> Iterator[None]:
    """Run the block on the exercise clock, with SMTP fenced to the exercise's sink."""
    with use_clock(exercise.clock()), fenced(fence_of(exercise, scenario)):
        yield


def maybe(exercise: Exercise | None, var_dir: Path | None = None) -> ContextManager[None]:
    """`activate` for an exercise, nothing otherwise."""
    if exercise is None:
        return nullcontext()
    scenario = scenario_of(var_dir, exercise) if var_dir is not None else None
    return activate(exercise, scenario)
