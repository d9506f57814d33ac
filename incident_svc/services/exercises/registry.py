"""The exercise record: one JSON file per exercise, <var_dir>/exercises/<name>/exercise.json.

A file, not a table, because a command must know where an exercise's database is before it
opens any database (`--exercise NAME` changes which one it opens), and because the real
database must not be changed to hold rehearsal state. The real audit log is what proves an
exercise happened (exercise.started, exercise.ended); this file only points the way.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from incident_svc.domain.exercise_clock import ExerciseClock, check_name
from incident_svc.errors import ConflictError, NotFoundError, ValidationError

FILE = "exercise.json"
SCENARIO = "scenario.toml"


@dataclass(frozen=True)
class Exercise:
    name: str
    database_url: str
    started_at: datetime  # real UTC moment: exercise hour 0
    speed: float
    started_by: str
    source: str  # "INC-2026-0007" (--from) or "scenario" (--scenario)
    incident_ref: str  # the incident inside the exercise database
    sink_port: int
    feed_port: int
    hours: float  # the timeline's length in exercise hours
    scenario: bool = False  # a scenario.toml was kept beside the record
    ended_at: datetime | None = None
    ended_by: str | None = None

    def clock(self) -> ExerciseClock:
        return ExerciseClock(started_at=self.started_at, speed=self.speed)

    @property
    def feed_path(self) -> str:
        """The exercise-only feed prefix: its banners are served under it, never at /v1."""
        return f"/exercises/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        plain = asdict(self)
        for key in ("started_at", "ended_at"):
            value = plain[key]
            plain[key] = None if value is None else value.isoformat()
        return plain


def root(var_dir: Path) -> Path:
    return var_dir / "exercises"


def folder(var_dir: Path, name: str) -> Path:
    return root(var_dir) / check_name(name)


def load(var_dir: Path, name: str) -> Exercise:
    """The exercise ``name``; NotFoundError when none was started under ``var_dir``."""
    path = folder(var_dir, name) / FILE
    if not path.is_file():
        raise NotFoundError(f"no exercise {name!r} (looked in {path.parent}); see `exercise list`")
    return _parse(path)


def _parse(path: Path) -> Exercise:
    try:
        data = json.loads(path.read_text("utf-8"))
        data["started_at"] = datetime.fromisoformat(data["started_at"])
        if data.get("ended_at"):
            data["ended_at"] = datetime.fromisoformat(data["ended_at"])
        return Exercise(**data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"unreadable exercise record: {exc}", file=str(path)) from None


def all_exercises(var_dir: Path) -> list[Exercise]:
    base = root(var_dir)
    if not base.is_dir():
        return []
    found = [_parse(path) for path in sorted(base.glob(f"*/{FILE}"))]
    return sorted(found, key=lambda e: e.started_at)


def reserve(var_dir: Path, name: str) -> Path:
    """Create the exercise's folder; ConflictError when the name is taken."""
    path = folder(var_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        raise ConflictError(
            f"exercise {name!r} exists already ({path}); choose another name"
        ) from None
    return path


def save(var_dir: Path, exercise: Exercise) -> None:
    """Write the record atomically (a reader sees the old or the new file, never half)."""
    path = folder(var_dir, exercise.name) / FILE
    spare = path.with_suffix(".tmp")
    spare.write_text(json.dumps(exercise.as_dict(), indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(spare, path)


def ended(exercise: Exercise, *, at: datetime, by: str) -> Exercise:
    return replace(exercise, ended_at=at, ended_by=by)
