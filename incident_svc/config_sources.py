"""Where each setting came from: code, an environment variable, a config file, or a default.

:func:`incident_svc.config.load_settings` records what each source said
(:func:`record_sources`); :func:`setting_source` names the one whose value won, the way the
audit log needs it ("environment variable INCIDENT_SVC_APPROVAL__REQUIRED").
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic_settings import EnvSettingsSource

from incident_svc.domain.approval import ApprovalPolicy

ENV_PREFIX = "INCIDENT_SVC_"
DEFAULT = "default"
UNKNOWN = "unknown (settings not loaded from files and environment)"


def record_sources(
    settings: Any, *, files: Sequence[Path], overrides: Mapping[str, Any] | None, default: Path
) -> None:
    """Remember, on ``settings``, each source's values in the order they win."""
    sources: list[tuple[str, Mapping[str, Any]]] = [("given in code", dict(overrides or {}))]
    sources.append(("environment", EnvSettingsSource(type(settings))()))
    for path in reversed(files):
        with path.open("rb") as handle:
            label = f"default file {path}" if path == default else f"file {path}"
            sources.append((label, tomllib.load(handle)))
    settings._sources = sources


def setting_source(settings: Any, dotted: str) -> str:
    """Which source set ``dotted`` (for example ``approval.required``)."""
    sources: list[tuple[str, Mapping[str, Any]]] | None = getattr(settings, "_sources", None)
    if not sources:
        return UNKNOWN
    parts = dotted.split(".")
    for label, values in sources:
        if _has(values, parts):
            return _env_name(parts) if label == "environment" else label
    return DEFAULT


def approval_policy(settings: Any) -> ApprovalPolicy:
    """The approval policy these settings put in force, and where it came from."""
    return ApprovalPolicy(
        required=bool(settings.approval.required),
        source=setting_source(settings, "approval.required"),
    )


def _has(values: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(values, Mapping):
            return False
        matches = [k for k in values if str(k).lower() == part]
        if not matches:
            return False
        values = values[matches[0]]
    return True


def _env_name(parts: list[str]) -> str:
    """The variable that carried the value: the nested one if set, else a parent's JSON."""
    present = {name.upper() for name in os.environ}
    for end in range(len(parts), 0, -1):
        name = ENV_PREFIX + "__".join(parts[:end]).upper()
        if name in present:
            return f"environment variable {name}"
    return "environment"
