"""Where the built-in templates and default configuration live, installed or not.

A wheel carries them as package data under ``incident_svc/_data``; a source checkout
(editable install, tests) has them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / name


def builtin_templates_dir() -> Path:
    return _data_dir("templates")


def default_config_file() -> Path:
    return _data_dir("config") / "default.toml"


def builtin_rules_file() -> Path:
    """The notification rules shipped with the package (docs/obligations.md)."""
    return _data_dir("config") / "compliance-rules.toml"
