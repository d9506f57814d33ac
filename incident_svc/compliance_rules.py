"""Read the shipped rules file and the operator's (compliance.rules_file) into checked rules."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any

from incident_svc.config import Settings
from incident_svc.domain.compliance import Rule, merge_rules
from incident_svc.domain.compliance.ruleset import Problem, RulesProblem
from incident_svc.errors import ConfigError
from incident_svc.resources import builtin_rules_file

MAX_BYTES = 5 * 1024 * 1024


def load_rules(settings: Settings) -> tuple[Rule, ...]:
    """Every enabled rule: the shipped file, then the operator's (replacing ids it repeats)."""
    paths = [builtin_rules_file()]
    if settings.compliance.rules_file is not None:
        paths.append(settings.compliance.rules_file)
    rules = merge_rules([(str(path), read_rules_file(path)) for path in paths])
    _check_sectors(settings, rules)
    return rules


def read_rules_file(path: Path) -> dict[str, Any]:
    """The TOML content of one rules file, or RulesProblem naming the file (and line)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise _problem(path, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _problem(path, f"is larger than {MAX_BYTES:,} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise _problem(path, f"cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _problem(path, "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise _problem(path, f"is not valid TOML: {exc}") from None


def _problem(path: Path, message: str) -> RulesProblem:
    return RulesProblem([Problem(str(path), None, None, "file", message)])


def _check_sectors(settings: Settings, rules: tuple[Rule, ...]) -> None:
    known = {sector for rule in rules for sector in rule.conditions.sectors_any}
    unknown = [s for s in settings.compliance.sectors if s not in known]
    if unknown:
        raise ConfigError(
            f"invalid configuration: compliance.sectors: no rule tests {', '.join(unknown)}; "
            f"the rules know {', '.join(sorted(known))}",
            key="compliance.sectors",
        )
