"""Where a setting came from: the label the audit log names for the approval policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident_svc.config import Settings, load_settings
from incident_svc.config_sources import UNKNOWN, approval_policy, setting_source
from incident_svc.resources import default_config_file


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INCIDENT_SVC_APPROVAL__REQUIRED", "INCIDENT_SVC_APPROVAL", "INCIDENT_SVC_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_the_shipped_default_file() -> None:
    policy = approval_policy(load_settings())
    assert (policy.required, policy.source) == (True, f"default file {default_config_file()}")


def test_an_operator_file(tmp_path: Path) -> None:
    config = tmp_path / "ops.toml"
    config.write_text("[approval]\nrequired = false\n", encoding="utf-8")
    policy = approval_policy(load_settings(config))
    assert (policy.required, policy.source) == (False, f"file {config}")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INCIDENT_SVC_APPROVAL__REQUIRED", "false"),
        ("incident_svc_approval__required", "0"),
        ("INCIDENT_SVC_APPROVAL", '{"required": false}'),
    ],
)
def test_an_environment_variable_wins_over_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    config = tmp_path / "ops.toml"
    config.write_text("[approval]\nrequired = true\n", encoding="utf-8")
    monkeypatch.setenv(name, value)
    policy = approval_policy(load_settings(config))
    assert policy.required is False
    assert policy.source == f"environment variable {name.upper()}"


def test_code_and_unloaded_settings() -> None:
    given = load_settings(overrides={"approval": {"required": False}})
    assert approval_policy(given).source == "given in code"
    assert setting_source(Settings(), "approval.required") == UNKNOWN
    assert setting_source(load_settings(), "templates_dir") == "default"
